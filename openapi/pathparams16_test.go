package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// Tomcat, Jetty and Spring take a ";" in a path segment for the start of
// path parameters, which they remove before they route: "/v1/pets;x=1/0"
// is "/v1/pets/0" there. A path that matches an operation only so read is
// not let through as an unknown route, as "/pets%2F0" is not.
func TestPathParamsNotUnknownRoute(t *testing.T) {
	for _, p := range []string{
		"/v1/pets;x=1/0",
		"/v1;v=2/pets/0",
		"/v1/pets;jsessionid=abc/7",
		"/v1/pets/;/0",
		"/v1/pets;",
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, `{"id":7,"name":"Rex"}`, "Content-Type", "application/json"))
		rt := newLayer(t, next, openapi.Config{AllowUnknownRoutes: true})
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test"+p, nil)
		_, err := rt.RoundTrip(req)
		var ve *openapi.ViolationError
		if !errors.As(err, &ve) || !errors.Is(err, transport.ErrSchemaViolation) {
			t.Errorf("%s: err = %v, want a violation", p, err)
		}
		if n := len(next.Requests()); n != 0 {
			t.Errorf("%s: %d requests sent, want 0", p, n)
		}
	}
	// A path that matches no operation, with or without its ";" content,
	// is still an unknown route.
	next := transporttest.NewResponder(transporttest.Respond(200, `{}`, "Content-Type", "application/json"))
	rt := newLayer(t, next, openapi.Config{AllowUnknownRoutes: true})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/owners;x=1/7", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("unknown route: %v", err)
	}
	resp.Body.Close()
	if n := len(next.Requests()); n != 1 {
		t.Fatalf("unknown route: %d requests sent, want 1", n)
	}
}
