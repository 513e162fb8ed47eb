package client_test

import (
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
)

// The breaker is per host, not per path, and counts attempts (retries
// included) across calls, as docs/resilience.md says: two calls to a
// failing endpoint (3 + 2 failed attempts under the standard preset's
// retry budget) open it, and a call to another path of the host then
// fails fast with ErrCircuitOpen, nothing sent.
func TestBreakerIsPerHostAcrossCallsAndPaths(t *testing.T) {
	var sent atomic.Int32
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent.Add(1)
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNotFound)
	}))
	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	do := func(path string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return resp, err
	}
	for range 2 {
		if resp, err := do("/fail"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("/fail: %v", err)
		}
	}
	if got := sent.Load(); got != 5 {
		t.Fatalf("%d attempts sent to /fail, want 5", got)
	}
	if _, err := do("/missing"); !errors.Is(err, client.ErrCircuitOpen) {
		t.Fatalf("/missing after the host's breaker opened: %v, want ErrCircuitOpen", err)
	}
	if got := sent.Load(); got != 5 {
		t.Fatalf("%d requests sent, want none more while the breaker is open", got)
	}
}
