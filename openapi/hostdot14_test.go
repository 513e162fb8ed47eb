package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// "api.example.test." is the fully qualified api.example.test: net/http
// dials it and the upstream serves it as the described API, so it is
// validated as it, not let through as an unknown route.
func TestHostWithTrailingDotIsTheServer(t *testing.T) {
	for _, u := range []string{
		"https://api.example.test./v1/pets/0",
		"https://API.Example.Test.:443/v1/pets/0",
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, `{"id":7,"name":"Rex"}`, "Content-Type", "application/json"))
		rt := newLayer(t, next, openapi.Config{AllowUnknownRoutes: true})
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		_, err := rt.RoundTrip(req)
		var ve *openapi.ViolationError
		if !errors.As(err, &ve) || !errors.Is(err, transport.ErrSchemaViolation) || ve.Route != "/v1/pets/{petId}" {
			t.Errorf("%s: err = %v, want a violation of /v1/pets/{petId}", u, err)
		}
		if n := len(next.Requests()); n != 0 {
			t.Errorf("%s: %d requests sent, want 0", u, n)
		}
	}
	// A valid call through the dotted host is validated and sent.
	next := transporttest.NewResponder(transporttest.Respond(200, `{"id":7,"name":"Rex"}`, "Content-Type", "application/json"))
	rt := newLayer(t, next, openapi.Config{})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test./v1/pets/7", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("valid call: %v", err)
	}
	resp.Body.Close()
	if n := len(next.Requests()); n != 1 {
		t.Fatalf("%d requests sent, want 1", n)
	}
}
