package openapi_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// bigIntSpec bounds integers past 2^53, where a float64 no longer holds
// every integer: 9007199254740993 is the float64 9007199254740992, and
// 10000000000000001 is 1e16.
const bigIntSpec = `
openapi: 3.0.3
info: {title: bigint, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /n/{p}:
    get:
      parameters:
        - {name: p, in: path, required: true, schema: {type: integer, maximum: 9007199254740992}}
        - {name: big, in: query, schema: {type: integer, maximum: 9007199254740992}}
        - {name: amount, in: query, schema: {type: integer, format: int64, maximum: 10000000000000000}}
        - {name: low, in: query, schema: {type: integer, minimum: -9007199254740992}}
        - {name: below, in: query, schema: {type: integer, maximum: 9007199254740994, exclusiveMaximum: true}}
        - {name: even, in: query, schema: {type: integer, multipleOf: 2}}
        - {name: ids, in: query, schema: {type: array, items: {type: integer, maximum: 9007199254740992}}}
        - {name: account, in: query, schema: {type: string, maxLength: 30}}
        - {name: X-Account, in: header, schema: {anyOf: [{type: string}, {type: integer, maximum: 10}]}}
        - {name: X-Big, in: header, schema: {type: integer, maximum: 9007199254740992}}
        - {name: big, in: cookie, schema: {type: integer, maximum: 9007199254740992}}
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
                n: {type: integer, maximum: 9007199254740992}
                amount: {type: integer, format: int64, maximum: 10000000000000000}
                id: {type: integer, format: int64}
                low: {type: integer, minimum: -9007199254740992}
                above: {type: integer, minimum: -9007199254740994, exclusiveMinimum: true}
                even: {type: integer, multipleOf: 2}
                nested: {type: object, properties: {m: {type: integer, maximum: 9007199254740992}}}
                list: {type: array, items: {type: integer, maximum: 9007199254740992}}
                any:
                  anyOf:
                    - {type: integer, maximum: 10}
                    - {type: integer, minimum: 100, maximum: 10000000000000000}
                one:
                  oneOf:
                    - {type: integer, maximum: 10}
                    - {type: integer, minimum: 100, maximum: 10000000000000000}
                pick:
                  anyOf:
                    - {type: integer, maximum: 10000000000000000}
                    - {type: integer, enum: [5, 20000000000000000]}
                all:
                  allOf:
                    - {type: integer}
                    - {maximum: 10000000000000000}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  n: {type: integer, maximum: 9007199254740992}
                  list: {type: array, items: {type: integer, format: int64}}
`

// TestBigIntegerParameterBounds: openapi3filter reads an integer
// parameter exactly (strconv.ParseInt) but compares it with its bounds as
// a float64, so "?big=9007199254740993" passed a maximum of
// 9007199254740992 to an upstream that reads it as an int64. An integer
// is held to its bounds exactly.
func TestBigIntegerParameterBounds(t *testing.T) {
	const base = "https://api.example.test/v1/n/"
	checkRequests(t, bigIntSpec, func(k string) *http.Request {
		target, hdr, _ := strings.Cut(k, " ")
		req, _ := http.NewRequest(http.MethodGet, base+target, nil)
		if name, v, ok := strings.Cut(hdr, ": "); ok {
			req.Header.Set(name, v)
		}
		return req
	}, map[string]bool{
		"1?big=9007199254740992":              false,
		"1?big=9007199254740993":              true,
		"1?big=-9007199254740993":             false,
		"1?amount=10000000000000000":          false,
		"1?amount=10000000000000001":          true,
		"1?amount=9223372036854775807":        true,
		"1?low=-9007199254740992":             false,
		"1?low=-9007199254740993":             true,
		"1?below=9007199254740993":            false,
		"1?below=9007199254740994":            true,
		"1?below=9007199254740995":            true,
		"1?even=9007199254740994":             false,
		"1?even=9007199254740993":             true,
		"1?ids=1&ids=9007199254740992":        false,
		"1?ids=1&ids=9007199254740993":        true,
		"9007199254740992":                    false,
		"9007199254740993":                    true,
		"1 X-Big: 9007199254740992":           false,
		"1 X-Big: 9007199254740993":           true,
		"1 Cookie: big=9007199254740992":      false,
		"1 Cookie: big=9007199254740993":      true,
		"1?big=9007199254740991&amount=12345": false,
		"1?account=12345678901234567890":      false,
		"1 X-Account: 12345678901234567890":   false,
	})
}

// TestBigIntegerBodyBounds: a JSON request body's integer was compared
// with its bounds as a float64: {"n":9007199254740993} passed a maximum
// of 9007199254740992, and {"id":9223372036854775808} (2^63) passed
// format int64, at the top level, nested, in an array item and in an
// anyOf or oneOf branch. An integer written as one is held to its bounds
// exactly; one with a fraction or an exponent too, when it is an integer
// (TestBigIntegerWithFractionOrExponentBounds).
func TestBigIntegerBodyBounds(t *testing.T) {
	cases := map[string]bool{
		`{"n":9007199254740992}`:                     false,
		`{"n":9007199254740993}`:                     true,
		`{"n":9007199254740992.0}`:                   false,
		`{"amount":10000000000000000}`:               false,
		`{"amount":10000000000000001}`:               true,
		`{"id":9223372036854775807}`:                 false,
		`{"id":-9223372036854775808}`:                false,
		`{"id":9223372036854775808}`:                 true,
		`{"id":-9223372036854775809}`:                true,
		`{"low":-9007199254740993}`:                  true,
		`{"above":-9007199254740993}`:                false,
		`{"above":-9007199254740994}`:                true,
		`{"even":9007199254740994}`:                  false,
		`{"even":9007199254740993}`:                  true,
		`{"nested":{"m":9007199254740992}}`:          false,
		`{"nested":{"m":9007199254740993}}`:          true,
		`{"list":[1,9007199254740992]}`:              false,
		`{"list":[1,9007199254740993]}`:              true,
		`{"any":5}`:                                  false,
		`{"any":10000000000000000}`:                  false,
		`{"any":10000000000000001}`:                  true,
		`{"one":10000000000000000}`:                  false,
		`{"one":10000000000000001}`:                  true,
		`{"pick":10000000000000000}`:                 false,
		`{"pick":20000000000000000}`:                 false,
		`{"pick":10000000000000001}`:                 true,
		`{"all":10000000000000000}`:                  false,
		`{"all":10000000000000001}`:                  true,
		`{"n":1,"list":[2],"nested":{"m":3},"id":4}`: false,
	}
	for body, violation := range cases {
		next := transporttest.NewResponder(transporttest.Respond(200, `{}`, "Content-Type", "application/json"))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(bigIntSpec)})
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/b", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
			t.Errorf("%s: err = %v, want violation %v", body, err, violation)
		}
		if sent := next.Calls() != 0; sent == violation {
			t.Errorf("%s: sent %v", body, sent)
		}
		if err != nil && strings.Contains(err.Error(), "900719925474099") {
			t.Errorf("%s: the reason quotes the value: %v", body, err)
		}
	}
}

// TestBigIntegerResponseBounds: a JSON response body is held to its
// integer bounds exactly too.
func TestBigIntegerResponseBounds(t *testing.T) {
	cases := map[string]bool{
		`{"n":9007199254740992}`:          false,
		`{"n":9007199254740993}`:          true,
		`{"list":[9223372036854775807]}`:  false,
		`{"list":[9223372036854775808]}`:  true,
		`{"list":[-9223372036854775809]}`: true,
	}
	for body, violation := range cases {
		next := transporttest.NewResponder(transporttest.Respond(200, body, "Content-Type", "application/json"))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(bigIntSpec)})
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/b", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
			t.Errorf("%s: err = %v, want violation %v", body, err, violation)
		}
	}
}
