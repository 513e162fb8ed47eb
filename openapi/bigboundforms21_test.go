package openapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// bigBoundFormsSpec writes integers no float64 holds with a zero fraction
// or an exponent: kin-openapi loads 9007199254740993.0 and
// 9.007199254740993e15 as the float64 9007199254740992.
const bigBoundFormsSpec = `
openapi: 3.0.3
info: {title: bigbounds, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /q:
    get:
      parameters:
        - {name: lo, in: query, schema: {type: integer, minimum: 9007199254740993.0}}
        - {name: hi, in: query, schema: {type: integer, maximum: 9.007199254740993e15}}
        - {name: neg, in: query, schema: {type: integer, maximum: -9.007199254740993E+15}}
        - {name: xhi, in: query, schema: {type: integer, exclusiveMaximum: true, maximum: 90071992547409930e-1}}
        - {name: e, in: query, schema: {type: integer, enum: [9007199254740993.0, 9.007199254740995e15]}}
        - {name: m, in: query, schema: {type: integer, multipleOf: 9.007199254740993e+15}}
      responses: {"200": {description: ok}}
  /b:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                lo: {type: integer, minimum: 9007199254740993.000}
                hi: {type: number, maximum: 9.007199254740993e15}
      responses: {"200": {description: ok}}
`

// TestBigBoundsWithFractionOrExponentAreExact: a bound, enum member or
// multipleOf of a Spec written as an integer past 2^53 with a zero
// fraction or an exponent (minimum 9007199254740993.0, maximum
// 9.007199254740993e15) was kin-openapi's float64 9007199254740992, as
// one written as digits was before 9a96743: the minimum let
// 9007199254740992 through, the maximum refused 9007199254740993. They
// are the integers written now, in parameters and bodies.
func TestBigBoundsWithFractionOrExponentAreExact(t *testing.T) {
	checkRequests(t, bigBoundFormsSpec, func(k string) *http.Request {
		if body, ok := strings.CutPrefix(k, "body "); ok {
			req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/b", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			return req
		}
		u := &url.URL{Scheme: "https", Host: "api.example.test", Path: "/v1/q", RawQuery: k}
		req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
		return req
	}, map[string]bool{
		"lo=9007199254740993":              false,
		"lo=9007199254740992":              true,
		"hi=9007199254740993":              false,
		"hi=9007199254740994":              true,
		"neg=-9007199254740993":            false,
		"neg=-9007199254740992":            true,
		"xhi=9007199254740991":             false,
		"xhi=9007199254740993":             true,
		"e=9007199254740993":               false,
		"e=9007199254740995":               false,
		"e=9007199254740992":               true,
		"e=9007199254740996":               true,
		"m=18014398509481986":              false,
		"m=9007199254740992":               true,
		"body {\"lo\":9007199254740993}":   false,
		"body {\"lo\":9007199254740992}":   true,
		"body {\"hi\":9007199254740993.0}": false,
		"body {\"hi\":9007199254740994}":   true,
	})
}

// TestExponentBoundWithoutLongDigitsIsExact: a Spec whose only such bound
// is written with an exponent and no run of 16 digits (maximum 1e23, the
// float64 99999999999999991611392) was loaded without the origins that
// locate it, so 1e23 written as digits was refused its own maximum.
func TestExponentBoundWithoutLongDigitsIsExact(t *testing.T) {
	const spec = `{"openapi": "3.0.3", "info": {"title": "e", "version": "1"},
 "servers": [{"url": "https://api.example.test/v1"}],
 "paths": {"/q": {"get": {
  "parameters": [{"name": "n", "in": "query", "schema": {"type": "number", "maximum": 1E+23}}],
  "responses": {"200": {"description": "ok"}}}}}}`
	checkRequests(t, spec, func(k string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/q?"+k, nil)
		return req
	}, map[string]bool{
		"n=100000000000000000000000": false,
		"n=100000000000000000000001": true,
		"n=99999999999999991611393":  false,
	})
}
