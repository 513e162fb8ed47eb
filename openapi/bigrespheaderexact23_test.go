package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

func bigRespHeaderExactSpec(ver string) string {
	excl := "{type: integer, maximum: 9007199254740993, exclusiveMaximum: true}"
	if ver == "3.1.0" {
		excl = "{type: integer, exclusiveMaximum: 9007199254740993}"
	}
	return `
openapi: ` + ver + `
info: {title: bigrespheaderexact, version: "1"}
servers: [{url: "https://api.example.test"}]
paths:
  /r:
    get:
      responses:
        "200":
          description: ok
          headers:
            X-E: {schema: ` + excl + `}
            X-A: {schema: {type: array, items: ` + excl + `}}
          content:
            application/json:
              schema: {type: object, properties: {s: {type: string}}}
`
}

// TestBigResponseHeaderWithinExclusiveBoundPasses: openapi3filter compares
// a response header's number with its bounds as float64s, so it refused
// "X-E: 9007199254740992" for an exclusiveMaximum of 9007199254740993
// (both the float64 9007199254740992), and in Enforce mode the caller
// lost a valid response: the exact answer stood for a body and a request
// header only. A scalar or array response header of type integer or
// number is now held to it exactly too; a value breaking its bound, or
// another failure of the same response, is still a violation.
func TestBigResponseHeaderWithinExclusiveBoundPasses(t *testing.T) {
	for _, ver := range []string{"3.0.3", "3.1.0"} {
		for _, multi := range []bool{false, true} {
			for _, c := range []struct {
				header, value, body string
				violation           bool
			}{
				{"X-E", "9007199254740992", `{"s":"x"}`, false},
				{"X-E", "9007199254740993", `{"s":"x"}`, true},
				{"X-E", "9007199254740992", `{"s":5}`, true},
				{"X-A", "1, 9007199254740992", `{"s":"x"}`, false},
				{"X-A", "9007199254740993", `{"s":"x"}`, true},
				{"X-A", "9007199254740992,x", `{"s":"x"}`, true},
			} {
				next := transporttest.NewResponder(transporttest.Respond(200, c.body, "Content-Type", "application/json", c.header, c.value))
				rt := newLayer(t, next, openapi.Config{Spec: []byte(bigRespHeaderExactSpec(ver)), Options: &openapi3filter.Options{MultiError: multi}})
				req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/r", nil)
				resp, err := rt.RoundTrip(req)
				if resp != nil {
					resp.Body.Close()
				}
				if got := errors.Is(err, transport.ErrSchemaViolation); got != c.violation {
					t.Errorf("%s MultiError %v, %s: %s, body %s: err = %v, want violation %v", ver, multi, c.header, c.value, c.body, err, c.violation)
				}
			}
		}
	}
}
