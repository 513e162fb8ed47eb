package openapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// bigExclusiveXOfSpec: a body whose schema composes a bound a value past
// 2^53 meets exactly (but not as kin-openapi's float64) with allOf or
// oneOf, beside constraints of its own.
func bigExclusiveXOfSpec(ver string) string {
	excl := "{type: integer, maximum: 9007199254740993, exclusiveMaximum: true"
	if ver == "3.1.0" {
		excl = "{type: integer, exclusiveMaximum: 9007199254740993"
	}
	return `
openapi: ` + ver + `
info: {title: bigexclusivexof, version: "1"}
servers: [{url: "https://api.example.test"}]
paths:
  /all:
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              allOf:
                - type: object
                  properties:
                    n: ` + excl + `}
              properties:
                n: {type: integer}
                name: {type: string, maxLength: 3}
              additionalProperties: false
      responses: {"200": {description: ok}}
  /one:
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                n:
                  oneOf:
                    - ` + excl + `}
                    - ` + excl + `, minimum: 0}
      responses: {"200": {description: ok}}
`
}

// TestBigValueWithinExclusiveBoundInAllOfOrOneOf: 1e82f5d lets a call
// through when every failure openapi3filter reports is a float bound a
// value of 16 digits or more meets exactly, looking through allOf and
// oneOf into their branches' failures. But openapi3filter validates none
// of a schema's own keywords once its allOf fails (properties,
// additionalProperties, the other properties' constraints), and a oneOf
// whose every branch failed so matches every such branch exactly: the
// first sent {"n":9007199254740992,"name":"toolong","admin":true} past
// additionalProperties false and maxLength 3, the second a value matching
// both branches of a oneOf. A failure inside allOf or oneOf stands, as
// the docs say of oneOf.
func TestBigValueWithinExclusiveBoundInAllOfOrOneOf(t *testing.T) {
	for _, ver := range []string{"3.0.3", "3.1.0"} {
		checkRequests(t, bigExclusiveXOfSpec(ver), func(k string) *http.Request {
			path, body, _ := strings.Cut(k, " ")
			req, _ := http.NewRequest(http.MethodPost, "https://api.example.test"+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			return req
		}, map[string]bool{
			`/all {"n":9007199254740992,"name":"toolong","admin":true}`: true,
			`/all {"n":9007199254740992,"admin":true}`:                  true,
			`/all {"n":1,"name":"abc"}`:                                 false,
			`/all {"n":1,"name":"toolong"}`:                             true,
			`/one {"n":9007199254740992}`:                               true,
			`/one {"n":-1}`:                                             false,
		})
	}
}
