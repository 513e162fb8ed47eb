package client_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// TestCallSpanCarriesRoute: a call made with a template (or WithRoute) has
// url.template on its call span, as configuration.md says. The client's
// stack always has an inventory below the call trace, which closed the
// call's record before the span ended: no client call span had it.
func TestCallSpanCarriesRoute(t *testing.T) {
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, audit := range []bool{false, true} {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		o := []client.Option{client.WithOrigins(srv.URL), client.WithTracerProvider(tp)}
		if audit {
			o = append(o, client.WithAuditLog(slog.New(slog.DiscardHandler)))
		}
		c, err := client.New(opts(loopback(), o...)...)
		if err != nil {
			t.Fatal(err)
		}
		req, err := transport.MustParseTemplate("/users/{id}").NewRequest(context.Background(), "GET", srv.URL+"/v1", nil, "alice")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		c.Close()
		spans := rec.Ended()
		if len(spans) != 1 {
			t.Fatalf("audit %v: %d spans ended, want 1 (the call span)", audit, len(spans))
		}
		got := ""
		for _, a := range spans[0].Attributes() {
			if a.Key == "url.template" {
				got = a.Value.AsString()
			}
		}
		if got != "/v1/users/{id}" {
			t.Errorf("audit %v: call span url.template = %q, want %q", audit, got, "/v1/users/{id}")
		}
	}
}
