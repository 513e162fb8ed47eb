package openapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// fractionSpec has numbers whose multipleOf is a decimal fraction: 0.01
// (an amount in cents), 0.1, 0.3 and 2.5, none of which but 2.5 is a
// float64.
const fractionSpec = `
openapi: 3.0.3
info: {title: fraction, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /q:
    get:
      parameters:
        - {name: cents, in: query, schema: {type: number, multipleOf: 0.01}}
        - {name: tenth, in: query, schema: {type: number, multipleOf: 0.1}}
        - {name: third, in: query, schema: {type: number, multipleOf: 0.3}}
        - {name: half, in: query, schema: {type: number, multipleOf: 2.5}}
      responses: {"200": {description: ok}}
  /b:
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                cents: {type: number, multipleOf: 0.01}
      responses: {"200": {description: ok}}
`

// TestBigIntegerFractionalMultipleOf: an integer of 16 digits or more was
// held to a multipleOf that is a decimal fraction as the float64 nearest
// it (0.01 is 0.01000000000000000020816681711721685...), of which no such
// integer is a multiple: "?cents=12345678901234567", a multiple of 0.01,
// was refused, where kin-openapi passes it. The divisor is the decimal
// the description writes, the shortest one that reads back as its
// float64, so a multiple of it passes, and an integer that is not one is
// still refused exactly ("?third=10000000000000001", which kin-openapi
// passes rounded).
func TestBigIntegerFractionalMultipleOf(t *testing.T) {
	checkRequests(t, fractionSpec, func(k string) *http.Request {
		if body, ok := strings.CutPrefix(k, "POST "); ok {
			req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/b", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			return req
		}
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/q?"+k, nil)
		return req
	}, map[string]bool{
		"cents=12345678901234567":          false,
		"cents=-12345678901234567":         false,
		"tenth=10000000000000000":          false,
		"tenth=10000000000000001":          false,
		"third=30000000000000000":          false,
		"third=30000000000000003":          false,
		"third=10000000000000001":          true,
		"half=10000000000000005":           false,
		"half=10000000000000001":           true,
		`POST {"cents":12345678901234567}`: false,
	})
}
