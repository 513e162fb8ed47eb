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

// bigExactXOfSpec: bounds a value past 2^53 meets exactly (but not as
// kin-openapi's float64s) inside anyOf, oneOf, allOf and not.
func bigExactXOfSpec(ver string) string {
	excl := "{type: integer, maximum: 9007199254740993, exclusiveMaximum: true}"
	if ver == "3.1.0" {
		excl = "{type: integer, exclusiveMaximum: 9007199254740993}"
	}
	return `
openapi: ` + ver + `
info: {title: bigexactxof, version: "1"}
servers: [{url: "https://api.example.test"}]
paths:
  /x:
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                any: {anyOf: [` + excl + `, {type: string}]}
                any2: {anyOf: [` + excl + `, {type: string}], multipleOf: 2}
                any5: {anyOf: [` + excl + `, {type: string}], multipleOf: 5}
                one: {oneOf: [` + excl + `, {type: string}]}
                not: {type: integer, not: {type: integer, minimum: 9007199254740993}}
                all: {allOf: [` + excl + `], multipleOf: 2}
                items: {type: array, items: {anyOf: [` + excl + `, {type: string}]}}
      responses: {"200": {description: ok}}
  /r:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object, properties: {any: {anyOf: [` + excl + `, {type: string}]}}}
`
}

// TestBigValueWithinExclusiveBoundInComposition: openapi3filter compares
// a number with its bounds as float64s, and where it refused a value past
// 2^53 only for a bound the value meets exactly the exact answer stood,
// but not inside anyOf, oneOf, allOf or not (6c3e8ab): 9007199254740992
// for anyOf [{exclusiveMaximum: 9007199254740993}, {type: string}] was
// refused, in Enforce mode every such call. A composition is now held to
// its branches exactly (anyOf: one passes, oneOf: exactly one, allOf:
// each, not: its branch fails), and then the rest of its schema, which
// openapi3filter left unchecked once the keyword failed: a value
// breaking a bound, matching two oneOf branches, or breaking another
// keyword of the schema is still a violation.
func TestBigValueWithinExclusiveBoundInComposition(t *testing.T) {
	for _, ver := range []string{"3.0.3", "3.1.0"} {
		cases := map[string]bool{
			`/x {"any":9007199254740992}`:           false,
			`/x {"any":9007199254740993}`:           true,
			`/x {"any":9007199254740992,"one":5.5}`: true,
			`/x {"any2":9007199254740992}`:          false,
			`/x {"any5":9007199254740992}`:          true,
			`/x {"one":9007199254740992}`:           false,
			`/x {"one":9007199254740993}`:           true,
			`/x {"not":9007199254740992}`:           false,
			`/x {"not":9007199254740993}`:           true,
			`/x {"all":9007199254740992}`:           false,
			`/x {"all":9007199254740993}`:           true,
			`/x {"items":["a",9007199254740992]}`:   false,
			`/x {"items":["a",9007199254740993]}`:   true,
		}
		if ver == "3.1.0" {
			// The JSON Schema 2020-12 validator names no keyword for a
			// failed not: it stands (a violation, as before).
			cases[`/x {"not":9007199254740992}`] = true
		}
		checkRequests(t, bigExactXOfSpec(ver), func(k string) *http.Request {
			path, body, _ := strings.Cut(k, " ")
			req, _ := http.NewRequest(http.MethodPost, "https://api.example.test"+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			return req
		}, cases)
		for body, violation := range map[string]bool{`{"any":9007199254740992}`: false, `{"any":9007199254740993}`: true} {
			next := transporttest.NewResponder(transporttest.Respond(200, body, "Content-Type", "application/json"))
			rt := newLayer(t, next, openapi.Config{Spec: []byte(bigExactXOfSpec(ver))})
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/r", nil)
			resp, err := rt.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
				t.Errorf("%s response %s: err = %v, want violation %v", ver, body, err, violation)
			}
		}
	}
}
