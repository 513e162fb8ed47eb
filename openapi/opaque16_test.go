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

// A URL with Opaque goes on the wire as Opaque (URL.RequestURI), not as
// Path: the request is validated as the operation of that request-target,
// and one that is not valid is not let through as an unknown route.
func TestOpaqueURLIsValidatedAsSent(t *testing.T) {
	opaque := func(op, rawQuery string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/", nil)
		req.URL = &url.URL{Scheme: "https", Host: "api.example.test", Opaque: op, RawQuery: rawQuery}
		return req
	}
	for _, tc := range []struct {
		opaque, query, route string
	}{
		{"/v1/pets/0", "", "/v1/pets/{petId}"},
		{"//api.example.test/v1/pets/0", "", "/v1/pets/{petId}"},
		{"/v1/pets?limit=99999", "", "/v1/pets"},
		{"/v1/pets", "limit=99999", "/v1/pets"},
		{"/v1/x/../pets/0", "", ""},
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, `{"id":7,"name":"Rex"}`, "Content-Type", "application/json"))
		rt := newLayer(t, next, openapi.Config{AllowUnknownRoutes: true})
		_, err := rt.RoundTrip(opaque(tc.opaque, tc.query))
		var ve *openapi.ViolationError
		if !errors.As(err, &ve) || !errors.Is(err, transport.ErrSchemaViolation) || ve.Route != tc.route {
			t.Errorf("Opaque %q: err = %v, want a violation of %q", tc.opaque, err, tc.route)
		}
		if n := len(next.Requests()); n != 0 {
			t.Errorf("Opaque %q: %d requests sent, want 0", tc.opaque, n)
		}
	}
	// A valid one is validated as its operation and sent as it is.
	for _, op := range []string{"/v1/pets/7", "//api.example.test/v1/pets/7"} {
		next := transporttest.NewResponder(transporttest.Respond(200, `{"id":7,"name":"Rex"}`, "Content-Type", "application/json"))
		rt := newLayer(t, next, openapi.Config{})
		var route string
		resp, err := recordRoute(t, rt, &route).RoundTrip(opaque(op, ""))
		if err != nil {
			t.Fatalf("Opaque %q: %v", op, err)
		}
		resp.Body.Close()
		reqs := next.Requests()
		if len(reqs) != 1 || reqs[0].URL.Opaque != op {
			t.Fatalf("Opaque %q: sent %d requests, want 1 with its Opaque", op, len(reqs))
		}
		if route != "/v1/pets/{petId}" {
			t.Errorf("Opaque %q: route %q, want /v1/pets/{petId}", op, route)
		}
	}
}
