package openapi_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// net/http sends a "#" in an Opaque as it is, and Node's HTTP parser
// (Express's req.path, Fastify) reads what follows it as a fragment:
// "/v1/pets/0#x" is served as "/v1/pets/0". Such a request is matched and
// validated by what precedes the "#", not let through as an unknown
// route, and is sent as it is.
func TestOpaqueURLFragmentIsNotPath(t *testing.T) {
	opaque := func(op string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/", nil)
		req.URL = &url.URL{Scheme: "https", Host: "api.example.test", Opaque: op}
		return req
	}
	for _, tc := range []struct{ opaque, route string }{
		{"/v1/pets/0#x", "/v1/pets/{petId}"},
		{"/v1/pets/0#", "/v1/pets/{petId}"},
		{"//api.example.test/v1/pets/0#/x", "/v1/pets/{petId}"},
		{"/v1/pets?limit=99999#x", "/v1/pets"},
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, `{"id":7,"name":"Rex"}`, "Content-Type", "application/json"))
		rt := newLayer(t, next, openapi.Config{AllowUnknownRoutes: true})
		_, err := rt.RoundTrip(opaque(tc.opaque))
		var ve *openapi.ViolationError
		if !errors.As(err, &ve) || !errors.Is(err, transport.ErrSchemaViolation) || ve.Route != tc.route {
			t.Errorf("Opaque %q: err = %v, want a violation of %q", tc.opaque, err, tc.route)
		}
		if n := len(next.Requests()); n != 0 {
			t.Errorf("Opaque %q: %d requests sent, want 0", tc.opaque, n)
		}
	}
	const op = "/v1/pets/7#x"
	next := transporttest.NewResponder(transporttest.Respond(200, `{"id":7,"name":"Rex"}`, "Content-Type", "application/json"))
	rt := newLayer(t, next, openapi.Config{})
	var route string
	resp, err := recordRoute(t, rt, &route).RoundTrip(opaque(op))
	if err != nil {
		t.Fatalf("Opaque %q: %v", op, err)
	}
	resp.Body.Close()
	if reqs := next.Requests(); len(reqs) != 1 || reqs[0].URL.Opaque != op {
		t.Fatalf("Opaque %q: sent %d requests, want 1 with its Opaque", op, len(reqs))
	}
	if route != "/v1/pets/{petId}" {
		t.Errorf("Opaque %q: route %q, want /v1/pets/{petId}", op, route)
	}
}
