package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestTrailingSlashValidatedAgainstOperation: most upstream frameworks
// (Express, Rails, ASP.NET Core, Spring before 6) route "/pets/7/" to
// "/pets/{petId}" and "/pets/" to "/pets". Such a path is validated against
// that operation, in both modes: with AllowUnknownRoutes it must not pass
// unvalidated as an unknown route (a petId of 0 reaching the upstream),
// and without it a valid call is not refused.
func TestTrailingSlashValidatedAgainstOperation(t *testing.T) {
	const base = "https://api.example.test/v1"
	checkRoutedPaths(t, []routedPath{
		{base + "/pets/7/", "/v1/pets/{petId}", false},
		{base + "/pets/0/", "/v1/pets/{petId}", true},
		{base + "/pets/?limit=5", "/v1/pets", false},
		{base + "/pets/?limit=0", "/v1/pets", true},
		{base + "/pets//?limit=0", "/v1/pets", true},
	})
}

// routedPath is a GET to url that the layer must validate against the
// operation of route: a violation when its values break the description.
type routedPath struct {
	url, route string
	violation  bool
}

// checkRoutedPaths sends each case through the layer, with and without
// AllowUnknownRoutes, and checks the violation and the route it matched.
func checkRoutedPaths(t *testing.T, cases []routedPath) {
	t.Helper()
	checkRoutedMethod(t, http.MethodGet, cases)
}

// checkRoutedMethod is checkRoutedPaths with requests of method.
func checkRoutedMethod(t *testing.T, method string, cases []routedPath) {
	t.Helper()
	for _, allow := range []bool{false, true} {
		for _, tc := range cases {
			next := transporttest.NewResponder(transporttest.Respond(200, `{"id":7,"name":"Rex"}`, "Content-Type", "application/json"))
			var route string
			rt := recordRoute(t, newLayer(t, next, openapi.Config{AllowUnknownRoutes: allow, SkipResponses: true}), &route)
			req, _ := http.NewRequest(method, tc.url, nil)
			resp, err := rt.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			if got := errors.Is(err, transport.ErrSchemaViolation); got != tc.violation {
				t.Errorf("allow %v, %s: err = %v, want violation %v", allow, tc.url, err, tc.violation)
			}
			if err == nil && route != tc.route {
				t.Errorf("allow %v, %s: route %q, want %q", allow, tc.url, route, tc.route)
			}
		}
	}
}

// TestMissingTrailingSlashValidatedAgainstOperation: the other way round,
// "/things/0" is the operation "/things/{id}/" to such an upstream.
func TestMissingTrailingSlashValidatedAgainstOperation(t *testing.T) {
	const slashSpec = `
openapi: 3.0.3
info: {title: slash, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /things/{id}/:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer, minimum: 1}}]
      responses: {"200": {description: ok}}
`
	for _, tc := range []violationCase{
		{"https://api.example.test/v1/things/7", false},
		{"https://api.example.test/v1/things/0", true},
		{"https://api.example.test/v1/things/0/", true},
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(slashSpec), AllowUnknownRoutes: true})
		req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if got := errors.Is(err, transport.ErrSchemaViolation); got != tc.violation {
			t.Errorf("%s: err = %v, want violation %v", tc.url, err, tc.violation)
		}
	}
}
