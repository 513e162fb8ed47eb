package client_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/client"
)

// A hand-set absolute-form URL.Opaque with a query and no path
// ("//host?token=..."), sent over HTTP/2, is refused by net/http before
// anything is sent: "http2: invalid request :path "https://host?token=..."
// from URL.Opaque = "//host?token=..."", a flat error quoting the request
// target, query secrets included. That message reached the span status,
// the audit record and (the Opaque quote) Client.Do's error as it was.
func TestHTTP2InvalidPathErrorRedacted(t *testing.T) {
	const secret = "CANARY15-H2PATH"
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), client.WithTracerProvider(tp), client.WithAuditLog(logger))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	host := strings.TrimPrefix(srv.URL, "https://")
	for _, raw := range []string{"", "sig=" + secret} {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = "//" + host + "?token=" + secret
		req.URL.RawQuery = raw
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("RawQuery %q: no error; the test needs net/http's HTTP/2 refusal of the :path", raw)
		}
		if !strings.Contains(errDump(err), "invalid request :path") {
			t.Fatalf("RawQuery %q: err = %v, want net/http's HTTP/2 refusal of the :path", raw, err)
		}
		if strings.Contains(errDump(err), secret) {
			t.Errorf("RawQuery %q: Do's error shows the secret: %s", raw, errDump(err))
		}
	}
	n := 0
	for _, sp := range spans.GetSpans() {
		n++
		if strings.Contains(sp.Status.Description, secret) {
			t.Errorf("span %s status shows the secret: %q", sp.Name, sp.Status.Description)
		}
		for _, ev := range sp.Events {
			for _, kv := range ev.Attributes {
				if strings.Contains(kv.Value.String(), secret) {
					t.Errorf("span %s event %s shows the secret: %s", sp.Name, ev.Name, kv.Value.String())
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no spans")
	}
	if logs.Len() == 0 {
		t.Fatal("no audit records")
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("audit record shows the secret: %s", logs.String())
	}
}
