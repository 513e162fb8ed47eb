package transport_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// stubOK answers every request with the same bodiless 200.
func stubOK() http.RoundTripper {
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: http.NoBody}
	return transporttest.RoundTripperFunc(func(*http.Request) (*http.Response, error) { return resp, nil })
}

// BenchmarkEgressLayers measures each egress and unsafe-consumption layer
// alone over a stub transport (GET, allowed, 200).
func BenchmarkEgressLayers(b *testing.B) {
	inv, err := transport.NewInventory(transport.InventoryConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer inv.Close()
	layers := map[string]func(next http.RoundTripper) (http.RoundTripper, error){
		"egress": func(next http.RoundTripper) (http.RoundTripper, error) {
			return transport.NewEgress(next, transport.EgressConfig{Allow: []string{"api.example.test", "*.example.com", "other.example.org:8443"}})
		},
		"credential-guard": func(next http.RoundTripper) (http.RoundTripper, error) {
			return transport.NewCredentialGuard(next, transport.EgressConfig{})
		},
		"limits": func(next http.RoundTripper) (http.RoundTripper, error) {
			return transport.NewLimits(next, transport.LimitsConfig{MediaTypes: []string{"application/json"}})
		},
		"inventory": func(next http.RoundTripper) (http.RoundTripper, error) {
			return transport.NewInventoryLayer(next, inv)
		},
		"audit-disabled": func(next http.RoundTripper) (http.RoundTripper, error) {
			return transport.NewAudit(next, transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))})
		},
		"audit-json": func(next http.RoundTripper) (http.RoundTripper, error) {
			return transport.NewAudit(next, transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
		},
	}
	for _, name := range []string{"egress", "credential-guard", "limits", "inventory", "audit-disabled", "audit-json"} {
		rt, err := layers[name](stubOK())
		if err != nil {
			b.Fatal(err)
		}
		req, _ := http.NewRequestWithContext(transport.WithRoute(context.Background(), "/v1/users/{id}"), http.MethodGet, "https://api.example.test/v1/users/42", nil)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				resp, err := rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
			}
		})
	}
}

func BenchmarkTemplateExpand(b *testing.B) {
	tm := transport.MustParseTemplate("/users/{id}/orders/{order}")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tm.Expand("42", "A-7"); err != nil {
			b.Fatal(err)
		}
	}
}
