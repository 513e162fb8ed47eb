package transport_test

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// h2Base returns an HTTP/2-only base transport for an h2 test server.
func h2Base(t *testing.T) (*http.Transport, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	base := srv.Client().Transport.(*http.Transport).Clone()
	base.ForceAttemptHTTP2 = true
	base.TLSClientConfig = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs, NextProtos: []string{"h2"}}
	t.Cleanup(base.CloseIdleConnections)
	return base, srv.URL
}

// Go's HTTP/2 refusal of a connection-specific header quotes the header's
// value. A call trace used without retry or attempt-trace layers below it
// must report it as the caller's malformed request (naming the field
// only), as those layers do, not put the value in the call span's status.
func TestCallTraceHTTP2RefusalNamesFieldOnly(t *testing.T) {
	base, url := h2Base(t)
	r := newOtelRig(t, nil)
	rt := transport.NewCallTrace(base, r.cfg)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/x", nil)
	req.Header.Set("Upgrade", "s3cret-value")
	resp, err := rt.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("HTTP/2 accepted an Upgrade header (proto %s)", resp.Proto)
	}
	if !errors.Is(err, transport.ErrInvalidRequest) {
		t.Errorf("err %v, want ErrInvalidRequest", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error quotes the header value: %v", err)
	}
	spans := r.ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	if d := spans[0].Status.Description; strings.Contains(d, "s3cret") || d == "" {
		t.Errorf("call span status %q: want the field named, not its value", d)
	}
}

// The same refusal in the audit log's error.message.
func TestAuditHTTP2RefusalNamesFieldOnly(t *testing.T) {
	base, url := h2Base(t)
	var log auditLog
	rt := auditLayer(t, base, transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/x", nil)
	req.Header.Set("Upgrade", "s3cret-value")
	resp, err := rt.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("HTTP/2 accepted an Upgrade header (proto %s)", resp.Proto)
	}
	if s := log.String(); strings.Contains(s, "s3cret") || !strings.Contains(s, "Upgrade") {
		t.Errorf("audit record %s: want the field named, not its value", s)
	}
	recs := log.records(t)
	if len(recs) != 1 || recs[0][transport.AuditErrType] != transport.ErrorType(transport.ErrInvalidRequest) {
		t.Errorf("records %v, want one with error.type %q", recs, transport.ErrorType(transport.ErrInvalidRequest))
	}
}
