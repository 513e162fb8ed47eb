package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// cookieCaseSpec declares cookie parameters, two of one name but for case.
const cookieCaseSpec = `
openapi: 3.0.3
info: {title: cookies, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /q:
    get:
      parameters:
        - {name: limit, in: cookie, schema: {type: integer, maximum: 100}}
        - {name: mode, in: cookie, schema: {type: string, enum: [a, b]}}
        - {name: Mode, in: cookie, schema: {type: string, enum: [a, b]}}
      responses: {"200": {description: ok}}
`

// checkRequests sends each request mk builds, keyed by a case name,
// through an Enforce layer over spec and checks whether it is a violation.
func checkRequests(t *testing.T, spec string, mk func(k string) *http.Request, cases map[string]bool) {
	t.Helper()
	for k, violation := range cases {
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(spec)})
		resp, err := rt.RoundTrip(mk(k))
		if resp != nil {
			resp.Body.Close()
		}
		if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
			t.Errorf("%q: err = %v, want violation %v", k, err, violation)
		}
		if sent := next.Calls() != 0; sent == violation {
			t.Errorf("%q: sent %v", k, sent)
		}
	}
}

// TestCookieNameInAnotherCaseIsViolation: ASP.NET Core reads request cookies
// by name ignoring case (RequestCookieCollection, OrdinalIgnoreCase), so it
// reads "LIMIT=99999" as the cookie parameter "limit", which openapi3filter
// (case-sensitive, as OpenAPI is) does not validate. A cookie name that is a
// declared one but for case is a violation, as a query name is.
func TestCookieNameInAnotherCaseIsViolation(t *testing.T) {
	checkRequests(t, cookieCaseSpec, func(c string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/q", nil)
		req.Header.Set("Cookie", c)
		return req
	}, map[string]bool{
		"limit=5":              false,
		"other=1; OTHER=2":     false,
		"mode=a; Mode=b":       false,
		"LIMIT=99999":          true,
		"Limit=5":              true,
		"limit=5; LIMIT=99999": true,
		"MODE=c":               true,
		"limit=99999":          true,
	})
}
