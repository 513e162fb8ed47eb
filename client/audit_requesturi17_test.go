package client_test

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// A request with RequestURI set (a server's incoming request handed on by
// a proxy handler, r.Clone keeps it) is refused by http.Client before the
// stack ("Request.RequestURI can't be set in client requests"): Do
// returned that untyped error and the audit log had no record of the
// call, where a request the client refuses before the stack is recorded
// (security.md) and bad input is ErrInvalidRequest. Do refuses it as
// ErrInvalidRequest, its body closed, nothing sent, and records it once.
func TestAuditRecordsRequestURIRefusal(t *testing.T) {
	var served atomic.Int32
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) }))
	r := newAuditRig(t, client.WithOrigins(srv.URL))
	body := &uriBodyCloses{Reader: strings.NewReader("payload")}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/fwd?key=secret-value", body)
	req.RequestURI = "/fwd?key=secret-value"
	resp, err := r.c.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("request with RequestURI sent")
	}
	if !errors.Is(err, client.ErrInvalidRequest) {
		t.Errorf("err = %v, want ErrInvalidRequest", err)
	}
	if strings.Contains(err.Error(), "secret-value") {
		t.Errorf("err holds the query value: %v", err)
	}
	if body.closed.Load() != 1 {
		t.Errorf("body closed %d times, want 1", body.closed.Load())
	}
	if served.Load() != 0 {
		t.Errorf("server saw %d requests", served.Load())
	}
	recs := r.records(t)
	if len(recs) != 1 {
		t.Fatalf("%d audit records of the refused call, want 1:\n%s", len(recs), r.raw())
	}
	rec := recs[0]
	if got := rec[transport.AuditErrType]; got != transport.ErrorTypeInvalidRequest {
		t.Errorf("error.type = %v, want %s", got, transport.ErrorTypeInvalidRequest)
	}
	if got := rec[transport.AuditAttempts]; got != float64(0) {
		t.Errorf("attempts = %v, want 0", got)
	}
	if strings.Contains(r.raw(), "secret-value") {
		t.Errorf("audit log holds the query value:\n%s", r.raw())
	}
}

type uriBodyCloses struct {
	*strings.Reader
	closed atomic.Int32
}

func (c *uriBodyCloses) Close() error { c.closed.Add(1); return nil }

// Transport().RoundTrip, like http.Transport, does not look at RequestURI
// (Do's doc): the request goes to its URL, recorded once; HTTPClient()
// refuses it with net/http's error, unrecorded.
func TestTransportSendsRequestWithRequestURI(t *testing.T) {
	var paths []string
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { paths = append(paths, r.URL.Path) }))
	r := newAuditRig(t, client.WithOrigins(srv.URL))
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/out", nil)
	req.RequestURI = "/in"
	resp, err := r.c.Transport().RoundTrip(req)
	if err != nil {
		t.Fatalf("Transport().RoundTrip: %v", err)
	}
	resp.Body.Close()
	if _, err := r.c.HTTPClient().Do(req); err == nil || errors.Is(err, client.ErrInvalidRequest) {
		t.Errorf("HTTPClient().Do: %v, want net/http's refusal", err)
	}
	if len(paths) != 1 || paths[0] != "/out" {
		t.Errorf("server saw %v, want [/out]", paths)
	}
	if n := len(r.records(t)); n != 1 {
		t.Errorf("%d audit records, want 1:\n%s", n, r.raw())
	}
}
