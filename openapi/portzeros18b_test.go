package openapi_test

import (
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestServerPortWithLeadingZerosMatches: a request's port with leading
// zeros (":0443", which net/http dials as 443) is the server's port, as
// it was before ee3a09a, when a server written without a port matched
// any: since, "https://api.example.test:0443/v1/pets/99" matched no
// operation of "https://api.example.test/v1", and with AllowUnknownRoutes
// it was sent unvalidated.
func TestServerPortWithLeadingZerosMatches(t *testing.T) {
	spec := spec18(`[{url: "https://api.example.test/v1"}]`, "")
	ve, n := call18(t, spec, "https://api.example.test:0443/v1/pets/99", 200)
	if ve == nil || ve.Route != "/v1/pets/{id}" || n != 0 {
		t.Errorf("violation %v, %d sent; want a violation of /v1/pets/{id}, none sent", ve, n)
	}
	next := transporttest.NewResponder(transporttest.Respond(200, ""))
	rt := newLayer(t, next, openapi.Config{Spec: spec, AllowUnknownRoutes: true})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test:0443/v1/pets/99", nil)
	if _, err := rt.RoundTrip(req); err == nil || len(next.Requests()) != 0 {
		t.Errorf("AllowUnknownRoutes: err %v, %d sent; want a violation, none sent", err, len(next.Requests()))
	}
	// Another port is still another service.
	if ve, _ := call18(t, spec, "https://api.example.test:04430/v1/pets/99", 200); ve != nil && ve.Route != "" {
		t.Errorf("port 4430: violation of %q, want no match", ve.Route)
	}
}
