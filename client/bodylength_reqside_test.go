package client_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// TestBodyLengthMismatchIsTheCallersError: a request whose body is longer
// or shorter than its ContentLength fails in net/http's writer (HTTP/1.1)
// or HTTP/2 transport, every time it is sent: the caller's malformed
// request, not a fault of the host. It is not retried (one attempt, also
// for an idempotent method) and not counted against the host's circuit
// breaker, so a run of them does not fail the good calls that follow.
func TestBodyLengthMismatchIsTheCallersError(t *testing.T) {
	h1 := newRecordingServer(t, false, nil)
	h2 := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	for _, u := range []string{h1.URL, h2.URL} {
		c, err := client.New(opts(loopback(), client.WithOrigins(u))...)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for i := 0; i < 12; i++ {
			method := http.MethodPost
			if i%2 == 0 {
				method = http.MethodPut // idempotent: retried if the error were the host's
			}
			req, _ := http.NewRequest(method, u+"/x", strings.NewReader("abcdef"))
			req.ContentLength = 3
			if u == h1.URL && i%3 == 0 {
				req.ContentLength = 9
			}
			resp, err := c.Do(req)
			if resp != nil {
				resp.Body.Close()
			}
			if err == nil {
				t.Fatalf("%s %d: a body of another length than ContentLength was sent", u[:5], i)
			}
			if errors.Is(err, client.ErrCircuitOpen) {
				t.Fatalf("%s %d: the breaker opened on the caller's malformed requests: %v", u[:5], i, err)
			}
			var re *transport.RetryError
			if errors.As(err, &re) && re.Attempts != 1 {
				t.Errorf("%s %d: %d attempts, want 1: %v", u[:5], i, re.Attempts, err)
			}
		}
		req, _ := http.NewRequest(http.MethodGet, u+"/good", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: good call after the malformed ones: %v", u[:5], err)
		}
		resp.Body.Close()
	}
}
