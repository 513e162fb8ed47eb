package openapi_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// bigExclusiveSpec returns a description of version ver whose bounds a
// value past 2^53 meets exactly but not as kin-openapi's float64s.
func bigExclusiveSpec(ver string) string {
	excl := "{type: integer, maximum: 9007199254740993, exclusiveMaximum: true}"
	exclN := "{type: number, maximum: 9007199254740992, exclusiveMaximum: true}"
	if ver == "3.1.0" {
		excl = "{type: integer, exclusiveMaximum: 9007199254740993}"
		exclN = "{type: number, exclusiveMaximum: 9007199254740992}"
	}
	return `
openapi: ` + ver + `
info: {title: bigexclusive, version: "1"}
servers: [{url: "https://api.example.test"}]
paths:
  /b:
    post:
      parameters:
        - {name: q, in: query, schema: ` + excl + `}
        - {name: X-E, in: header, schema: ` + excl + `}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                e: ` + excl + `
                en: ` + exclN + `
                fm: {type: number, maximum: 9007199254740992.5}
                s: {type: string}
      responses: {"200": {description: ok}}
  /r:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object, properties: {e: ` + excl + `}}
`
}

// TestBigValueWithinExclusiveBoundPasses: openapi3filter compares a value
// with its bounds as float64s, so it refused a value past 2^53 within an
// exclusive bound that rounds to the same float64 ({"e":9007199254740992}
// for an exclusiveMaximum of 9007199254740993, 9007199254740991.5 for one
// of 9007199254740992), in a request or response body, a query or a
// header parameter, and with an OpenAPI 3.1 description (whose JSON
// Schema validator compares the value exactly with the float64 bound) a
// value within a bound no float64 holds (9007199254740992.5 for a maximum
// of 9007199254740992.5): in Enforce mode no such call went out. Where
// every failure openapi3filter finds is such a numeric keyword on a value
// of 16 significant digits or more that meets it exactly, the layer's
// exact answer stands; a value breaking its bound, or another failure of
// the same request, is still a violation.
func TestBigValueWithinExclusiveBoundPasses(t *testing.T) {
	for _, ver := range []string{"3.0.3", "3.1.0"} {
		spec := bigExclusiveSpec(ver)
		cases := map[string]bool{
			`{"e":9007199254740992}`:          false,
			`{"e":9007199254740993}`:          true,
			`{"en":9007199254740991.5}`:       false,
			`{"en":9007199254740992}`:         true,
			`{"e":9007199254740992,"s":5}`:    true,
			`{"e":9007199254740992,"en":1.5}`: false,
			`{"fm":9007199254740992.5}`:       false,
			`{"fm":9007199254740992.75}`:      true,
			"q=9007199254740992":              false,
			"q=9007199254740993":              true,
			"X-E: 9007199254740992":           false,
			"X-E: 9007199254740993":           true,
		}
		checkRequests(t, spec, func(k string) *http.Request {
			switch {
			case strings.HasPrefix(k, "q="):
				req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/b?"+k, nil)
				return req
			case strings.HasPrefix(k, "X-E: "):
				req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/b", nil)
				req.Header.Set("X-E", strings.TrimPrefix(k, "X-E: "))
				return req
			}
			req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/b", strings.NewReader(k))
			req.Header.Set("Content-Type", "application/json")
			return req
		}, cases)
		// With every failure asked for (Options.MultiError).
		for body, violation := range map[string]bool{`{"e":9007199254740992}`: false, `{"e":9007199254740992,"s":5}`: true, `{"e":9007199254740993}`: true} {
			next := transporttest.NewResponder(transporttest.Respond(200, ""))
			rt := newLayer(t, next, openapi.Config{Spec: []byte(spec), Options: &openapi3filter.Options{MultiError: true}})
			req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/b", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := rt.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
				t.Errorf("%s MultiError %s: err = %v, want violation %v", ver, body, err, violation)
			}
		}
		for body, violation := range map[string]bool{`{"e":9007199254740992}`: false, `{"e":9007199254740993}`: true} {
			next := transporttest.NewResponder(transporttest.Respond(200, body, "Content-Type", "application/json"))
			rt := newLayer(t, next, openapi.Config{Spec: []byte(spec)})
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
