package openapi_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestDotSegmentPathRefusedWithUnknownRoutesAllowed: with
// AllowUnknownRoutes a path with a dot segment (also %2E-encoded, also
// with a trailing slash) must not go out unvalidated as an unknown route:
// an upstream that resolves it (nginx, Go's ServeMux by a redirect) serves
// /v1/pets/0, a petId the description refuses. Upstreams differ on whether
// and how they resolve it, so there is no one operation to validate
// against: in Enforce mode it is a violation, nothing sent; in ReportOnly
// it is reported and sent.
func TestDotSegmentPathRefusedWithUnknownRoutesAllowed(t *testing.T) {
	const base = "https://api.example.test/v1"
	for _, u := range []string{
		base + "/x/../pets/0",
		base + "/x/%2e%2E/pets/0",
		base + "/x/../pets/0/",
		base + "/pets/./0",
		base + "/pets/%2E/",
		base + "/x//../pets/0",
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, `{"id":7,"name":"Rex"}`, "Content-Type", "application/json"))
		rt := newLayer(t, next, openapi.Config{AllowUnknownRoutes: true, SkipResponses: true})
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		resp, err := rt.RoundTrip(req)
		var ve *openapi.ViolationError
		if resp != nil || !errors.As(err, &ve) || ve.Direction != "request" {
			t.Errorf("%s: resp %v err %v, want a request *ViolationError", u, resp, err)
		}
		if next.Calls() != 0 {
			t.Errorf("%s: sent", u)
		}

		next = transporttest.NewResponder(transporttest.Respond(200, `{"id":7,"name":"Rex"}`, "Content-Type", "application/json"))
		var seen []*openapi.Violation
		rt = newLayer(t, next, openapi.Config{AllowUnknownRoutes: true, SkipResponses: true, Mode: openapi.ReportOnly,
			OnViolation: func(_ context.Context, v *openapi.Violation) { seen = append(seen, v) }})
		req, _ = http.NewRequest(http.MethodGet, u, nil)
		resp, err = rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s report-only: %v", u, err)
		}
		resp.Body.Close()
		if next.Calls() != 1 || len(seen) != 1 {
			t.Errorf("%s report-only: %d sends, %d violations; want 1 and 1", u, next.Calls(), len(seen))
		}
	}
	// A path of another shape, without dot segments, still passes.
	next := transporttest.NewResponder(transporttest.Respond(200, "ok", "Content-Type", "text/plain"))
	rt := newLayer(t, next, openapi.Config{AllowUnknownRoutes: true, SkipResponses: true})
	req, _ := http.NewRequest(http.MethodGet, base+"/x/a..b/pets", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}
