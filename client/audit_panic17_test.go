package client_test

import (
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// A panic in a caller's WithCallLayer layer (a bug), recovered further up
// (net/http's server recovers a handler's panic per request), left no
// audit record, although the request had reached the server: the call
// trace ends its span and measures the call as failed, but the audit log,
// which promises one record per call, had nothing of it. The call is
// recorded with error.type _OTHER, and the panic goes on.
func TestAuditRecordsCallWhoseLayerPanics(t *testing.T) {
	var served atomic.Int32
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) }))
	r := newAuditRig(t, client.WithOrigins(srv.URL),
		client.WithCallLayer(func(next http.RoundTripper) (http.RoundTripper, error) {
			return rtFunc(func(req *http.Request) (*http.Response, error) {
				resp, err := next.RoundTrip(req)
				if err == nil {
					resp.Body.Close()
				}
				panic("call layer bug")
			}), nil
		}))
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic was swallowed")
			}
		}()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/p?key=secret-value", nil)
		if resp, err := r.c.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	if served.Load() != 1 {
		t.Fatalf("server saw %d requests, want 1", served.Load())
	}
	recs := r.records(t)
	if len(recs) != 1 {
		t.Fatalf("%d audit records of a call the server executed, want 1:\n%s", len(recs), r.raw())
	}
	rec := recs[0]
	if rec[transport.AuditStatus] != nil {
		t.Errorf("status %v in the record of a call that panicked", rec[transport.AuditStatus])
	}
	if got := rec[transport.AuditErrType]; got != transport.ErrorTypeOther {
		t.Errorf("error.type = %v, want %s", got, transport.ErrorTypeOther)
	}
	if got := rec[transport.AuditURL]; got != srv.URL+"/p?key=REDACTED" {
		t.Errorf("url.full = %v", got)
	}
	if got := rec[transport.AuditAttempts]; got != float64(1) {
		t.Errorf("attempts = %v, want 1", got)
	}
}
