package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestRepeatedSlashesValidatedAgainstOperation: an upstream behind nginx
// (merge_slashes, on by default) or Go's ServeMux (a redirect) serves
// "/pets//7" as "/pets/7". Such a path is validated against that
// operation, composed with the trailing-slash match: with
// AllowUnknownRoutes it must not pass unvalidated (a petId of 0 reaching
// the upstream), and without it a valid call is not refused.
func TestRepeatedSlashesValidatedAgainstOperation(t *testing.T) {
	const base = "https://api.example.test/v1"
	for _, allow := range []bool{false, true} {
		for _, tc := range []struct {
			url, route string
			violation  bool
		}{
			{base + "/pets//7", "/v1/pets/{petId}", false},
			{base + "/pets//0", "/v1/pets/{petId}", true},
			{base + "//pets///0", "/v1/pets/{petId}", true},
			{base + "/pets//0/", "/v1/pets/{petId}", true},
			{base + "/pets//7//", "/v1/pets/{petId}", false},
			{base + "//pets?limit=0", "/v1/pets", true},
			{base + "//pets//?limit=5", "/v1/pets", false},
		} {
			next := transporttest.NewResponder(transporttest.Respond(200, `{"id":7,"name":"Rex"}`, "Content-Type", "application/json"))
			var route string
			rt := recordRoute(t, newLayer(t, next, openapi.Config{AllowUnknownRoutes: allow, SkipResponses: true}), &route)
			req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
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
