package transport_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/transport"
)

// A token request's audit record hides every query value of the token
// URL, as its span does, whatever the Redaction policy (the calls', which
// client.New passes to both) shows of the calls': a key an API shows
// ("tenant", "code") may carry a credential at the token endpoint. Its
// error.message, for an endpoint that cannot be reached, quotes none
// either.
func TestTokenRequestsAuditHidesQueryValuesAsSpan(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"access_token":"x"}`)
	}))
	t.Cleanup(srv.Close)
	dead := httptest.NewTLSServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()

	policy := &transport.RedactionPolicy{QueryKeys: []string{"tenant", "code"}}
	var mu sync.Mutex
	var out strings.Builder
	logger := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return out.Write(p)
	}), nil))
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	rt, err := transport.NewTokenRequests(srv.Client().Transport, transport.TokenRequestConfig{
		Audit: &transport.AuditConfig{Logger: logger, Redaction: policy},
		Trace: &transport.TraceConfig{TracerProvider: tp, Redaction: policy},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{srv.URL, deadURL} {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, u+"/token?tenant=CANARY-tenant&code=CANARY-code",
			strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := rt.RoundTrip(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	mu.Lock()
	audit := out.String()
	mu.Unlock()
	var urls []string
	sc := bufio.NewScanner(strings.NewReader(audit))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		s, _ := rec["url.full"].(string)
		urls = append(urls, s)
	}
	if len(urls) != 2 {
		t.Fatalf("audit output %q: want 2 records", audit)
	}
	for i, u := range []string{srv.URL, deadURL} {
		if want := u + "/token?tenant=REDACTED&code=REDACTED"; urls[i] != want {
			t.Errorf("audit url.full %q, want %q (as the span's)", urls[i], want)
		}
	}
	for _, s := range spans.GetSpans() {
		if v := attr19(s.Attributes, "url.full"); strings.Contains(v, "CANARY") {
			t.Errorf("span url.full %q", v)
		}
	}
	if strings.Contains(audit, "CANARY") {
		t.Errorf("the audit log holds a query value of the token URL:\n%s", audit)
	}
}
