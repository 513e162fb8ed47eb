package transport_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// auditLog collects JSON audit records.
type auditLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *auditLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *auditLog) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("record %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func (l *auditLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func auditLayer(t *testing.T, next http.RoundTripper, cfg transport.AuditConfig) http.RoundTripper {
	t.Helper()
	rt, err := transport.NewAudit(next, cfg)
	if err != nil {
		t.Fatalf("NewAudit: %v", err)
	}
	return rt
}

func TestAuditConformance(t *testing.T) {
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		return auditLayer(t, next, transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	})
}

func TestAuditConfigError(t *testing.T) {
	var ce *transport.ConfigError
	if _, err := transport.NewAudit(nil, transport.AuditConfig{}); !errors.As(err, &ce) || ce.Option != "Logger" {
		t.Fatalf("err = %v", err)
	}
}

func TestAuditRecordNeverLeaksSecrets(t *testing.T) {
	var log auditLog
	inner := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		transport.MarkAuth(req.Context(), transport.AuthBearer)
		transport.MarkAuth(req.Context(), transport.AuthHMAC)
		transport.MarkPinned(req.Context())
		return &http.Response{StatusCode: 201, Body: io.NopCloser(strings.NewReader(`{"secret":"body-s3cr3t"}`)),
			Header: http.Header{"Set-Cookie": {"sid=cookie-s3cr3t"}}, TLS: &tls.ConnectionState{Version: tls.VersionTLS13}, Request: req}, nil
	})
	rt := auditLayer(t, inner, transport.AuditConfig{
		Logger:    slog.New(slog.NewJSONHandler(&log, nil)),
		Redaction: &transport.RedactionPolicy{QueryKeys: []string{"page"}},
	})
	ctx := transport.WithRoute(context.Background(), "/users/{id}/orders")
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://user:pw-s3cr3t@api.example.test/users/42/orders?page=2&token=query-s3cr3t#frag", strings.NewReader(`{"card":"body-s3cr3t"}`))
	req.Header.Set("Authorization", "Bearer header-s3cr3t")
	req.Header.Set("X-Api-Key", "key-s3cr3t")
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	if strings.Contains(log.String(), "s3cr3t") {
		t.Fatalf("audit log leaks a secret: %s", log.String())
	}
	recs := log.records(t)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	r := recs[0]
	for k, want := range map[string]any{
		"msg":                       transport.DefaultAuditMessage,
		"level":                     "INFO",
		"http.request.method":       "POST",
		"server.origin":             "https://api.example.test:443",
		"url.template":              "/users/{id}/orders",
		"url.full":                  "https://api.example.test/users/42/orders?page=2&token=REDACTED",
		"http.response.status_code": float64(201),
		"securecall.auth":           "bearer+hmac",
		"tls.protocol.version":      "1.3",
		"securecall.tls.pinned":     true,
		"securecall.attempts":       float64(0),
	} {
		if r[k] != want {
			t.Errorf("%s = %#v, want %#v", k, r[k], want)
		}
	}
	if _, ok := r["duration"]; !ok {
		t.Error("no duration")
	}
	if _, ok := r["error.type"]; ok {
		t.Error("error.type on a successful call")
	}
}

func TestAuditFailureRedacted(t *testing.T) {
	var log auditLog
	next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		return nil, &url.Error{Op: "Get", URL: req.URL.String(), Err: errors.New("connection refused")}
	})
	rt := auditLayer(t, next, transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(&log, nil)), Level: slog.LevelWarn})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/users/7?api_key=k-s3cr3t", nil)
	if _, err := rt.RoundTrip(req); err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(log.String(), "s3cr3t") {
		t.Fatalf("audit log leaks the query: %s", log.String())
	}
	r := log.records(t)[0]
	if r["level"] != "WARN" || r["url.template"] != "/users/{id}" || r["error.type"] != transport.ErrorTypeOther ||
		!strings.Contains(r["error.message"].(string), "connection refused") {
		t.Fatalf("record %v", r)
	}
	if _, ok := r["http.response.status_code"]; ok {
		t.Fatal("status on a failed call")
	}
}

// TestAuditEgressDenied: with the audit layer above the egress check, a
// refused call is audited with error.type egress_denied.
func TestAuditEgressDenied(t *testing.T) {
	var log auditLog
	next := transporttest.NewResponder()
	eg := egressLayer(t, next, transport.EgressConfig{Allow: []string{"api.example.test"}})
	rt := auditLayer(t, eg, transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	req, _ := http.NewRequest(http.MethodGet, "https://169.254.169.254/latest/meta-data/", nil)
	if _, err := rt.RoundTrip(req); !errors.Is(err, transport.ErrEgressDenied) {
		t.Fatalf("err = %v", err)
	}
	r := log.records(t)[0]
	if r["error.type"] != transport.ErrorTypeEgressDenied || r["server.origin"] != "https://169.254.169.254:443" {
		t.Fatalf("record %v", r)
	}
	if next.Calls() != 0 {
		t.Fatal("denied call sent")
	}
}

// TestAuditDisabledLogger: a logger not enabled for the level writes
// nothing and the request goes on untouched.
func TestAuditDisabledLogger(t *testing.T) {
	var log auditLog
	var got *http.Request
	next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		got = req
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
	})
	rt := auditLayer(t, next, transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(&log, &slog.HandlerOptions{Level: slog.LevelError}))})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if log.String() != "" || got != req {
		t.Fatalf("disabled audit wrote %q or replaced the request", log.String())
	}
}

// TestAuditAttempts: inside a traced stack, the record reports the
// physical sends of the call.
func TestAuditAttempts(t *testing.T) {
	var log auditLog
	next := transporttest.NewResponder(transporttest.Respond(503, "busy"), transporttest.Respond(200, "ok"))
	tc := transport.TraceConfig{}
	attempt := transport.NewAttemptTrace(next, tc)
	retryTwice := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := attempt.RoundTrip(transport.BeginAttempt(req, 0))
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return attempt.RoundTrip(transport.BeginAttempt(req, 1))
	})
	audit := auditLayer(t, retryTwice, transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	rt := transport.NewCallTrace(audit, tc)
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := log.records(t)[0]; r["securecall.attempts"] != float64(2) || r["http.response.status_code"] != float64(200) {
		t.Fatalf("record %v", r)
	}
}
