package openapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestRelativeServerWithSchemeInPath: kin-openapi's router takes a
// server URL containing "://" for an absolute one, so a relative server
// "/proxy/https://up/v1" (a proxy path naming its upstream) had the
// scheme "/proxy/https" and matched no request: every operation under it
// was an unknown route, unvalidated with AllowUnknownRoutes.
func TestRelativeServerWithSchemeInPath(t *testing.T) {
	s := spec18(`[{url: "/proxy/https://up.example.test/v1"}]`, "")
	ve, n := call18(t, s, "https://gw.example.test/proxy/https://up.example.test/v1/pets/99", 200)
	if ve == nil || ve.Route != "/proxy/https://up.example.test/v1/pets/{id}" {
		t.Errorf("id over maximum: %v, want a violation of /proxy/https://up.example.test/v1/pets/{id}", ve)
	}
	if n != 0 {
		t.Errorf("%d requests sent, want 0", n)
	}
	if ve, n := call18(t, s, "https://gw.example.test/proxy/https://up.example.test/v1/pets/1", 200); ve != nil || n != 1 {
		t.Errorf("valid: %v, %d sent, want none and 1", ve, n)
	}
	// With AllowUnknownRoutes it is no unknown route either.
	next := transporttest.NewResponder(transporttest.Respond(200, ""))
	rt := newLayer(t, next, openapi.Config{Spec: s, AllowUnknownRoutes: true})
	req, _ := http.NewRequest(http.MethodGet, "https://gw.example.test/proxy/https://up.example.test/v1/pets/99", nil)
	if _, err := rt.RoundTrip(req); err == nil {
		t.Errorf("AllowUnknownRoutes: sent unvalidated")
	}
}

// TestConfigServersRelativeWithSchemeInPath: Config.Servers took the
// "/proxy/https" of "/proxy/https://up.example.test/v1" for a scheme and
// refused the entry as no http or https URL.
func TestConfigServersRelativeWithSchemeInPath(t *testing.T) {
	next := transporttest.NewResponder(transporttest.Respond(200, ""))
	rt, err := openapi.New(next, openapi.Config{Spec: spec18(`[{url: "https://api.example.test/v1"}]`, ""),
		Servers: []string{"/proxy/https://up.example.test/v1"}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://gw.example.test/proxy/https://up.example.test/v1/pets/99", nil)
	if _, err := rt.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "/proxy/https://up.example.test/v1/pets/{id}") {
		t.Errorf("id over maximum: %v, want a violation of the route", err)
	}
	if n := len(next.Requests()); n != 0 {
		t.Errorf("%d requests sent, want 0", n)
	}
}
