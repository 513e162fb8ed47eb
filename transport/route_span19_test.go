package transport_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestCallSpanRouteWithRecordLayersBelow: the call span reports the call's
// route as url.template (Template.NewRequest, WithRoute, a route a layer
// set with SetRoute) also when an inventory or audit layer sits below the
// call trace, as in every client.New stack. Those layers close the call's
// record when they return, before the span ends, and the span read the
// route through the closed record: it had no url.template at all.
func TestCallSpanRouteWithRecordLayersBelow(t *testing.T) {
	tmpl := transport.MustParseTemplate("/users/{id}")
	setRoute := func(next http.RoundTripper) http.RoundTripper {
		return transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			if transport.RouteFrom(req.Context()) == "" {
				transport.SetRoute(req.Context(), "/set/{id}")
			}
			return next.RoundTrip(req)
		})
	}
	for _, tc := range []struct {
		name  string
		wrap  func(t *testing.T, next http.RoundTripper) http.RoundTripper
		route bool // the request carries the template's route
		want  string
	}{
		{"inventory", wrapInventory, true, "/v1/users/{id}"},
		{"audit", wrapAudit, true, "/v1/users/{id}"},
		{"audit+inventory", func(t *testing.T, next http.RoundTripper) http.RoundTripper {
			return wrapAudit(t, wrapInventory(t, next))
		}, true, "/v1/users/{id}"},
		{"inventory+SetRoute", func(t *testing.T, next http.RoundTripper) http.RoundTripper {
			return wrapInventory(t, setRoute(next))
		}, false, "/set/{id}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rig := newOtelRig(t, nil).twoLevel()
			req, err := tmpl.NewRequest(context.Background(), "GET", "https://api.example.test/v1", nil, "alice")
			if err != nil {
				t.Fatal(err)
			}
			if !tc.route {
				req = req.WithContext(context.Background())
			}
			base := transport.NewAttemptScope(transport.NewAttemptTrace(transporttest.NewResponder(transporttest.Respond(200, "")), rig.cfg))
			rt := transport.NewCallTrace(tc.wrap(t, base), rig.cfg)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			call, _ := splitSpans(t, rig.ended())
			wantAttr(t, call, "url.template", tc.want)
		})
	}
}

func wrapInventory(t *testing.T, next http.RoundTripper) http.RoundTripper {
	t.Helper()
	inv, err := transport.NewInventory(transport.InventoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inv.Close() })
	rt, err := transport.NewInventoryLayer(next, inv)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func wrapAudit(t *testing.T, next http.RoundTripper) http.RoundTripper {
	t.Helper()
	rt, err := transport.NewAudit(next, transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(new(bytes.Buffer), nil))})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}
