package client_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// TestBodyLengthMismatchIsTheCallersError: a request whose body is longer
// or shorter than its ContentLength is the caller's malformed request,
// not a fault of the host, and is not counted against the host's circuit
// breaker, so a run of them does not fail the good calls that follow. A
// body of a type whose length is known (what http.NewRequest measures,
// also in io.NopCloser) is refused before anything is sent
// (ErrInvalidRequest). Any other body is sent and fails in net/http's
// HTTP/2 transport, every time: not retried (one attempt, also for an
// idempotent method). (Over HTTP/1.1 net/http's handling of such a body
// is racy: it may send the first ContentLength bytes as a whole request
// and return the server's answer, or report the connection it closed
// instead of the length error. Not tested here: nothing above net/http can
// tell which happened.)
func TestBodyLengthMismatchIsTheCallersError(t *testing.T) {
	h1 := newRecordingServer(t, false, nil)
	h2 := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	bodies := []func() io.Reader{
		func() io.Reader { return strings.NewReader("abcdef") },
		func() io.Reader { return bytes.NewReader([]byte("abcdef")) },
		func() io.Reader { return bytes.NewBufferString("abcdef") },
	}
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
			known := i < 6 || u == h1.URL
			var body io.Reader = opaqueReader{strings.NewReader("abcdef")}
			if known {
				body = bodies[i%3]()
			}
			req, _ := http.NewRequest(method, u+"/x", body)
			if i%4 == 3 {
				req.Body = io.NopCloser(bodies[i%3]()) // set by hand, not by NewRequest
			}
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
			if known || i%4 == 3 {
				if !errors.Is(err, client.ErrInvalidRequest) || !strings.Contains(err.Error(), "ContentLength=") {
					t.Errorf("%s %d: %v, want ErrInvalidRequest naming the length mismatch", u[:5], i, err)
				}
				continue
			}
			var re *transport.RetryError
			if !errors.As(err, &re) {
				t.Errorf("%s %d: %v, want a RetryError (sent, failed in net/http)", u[:5], i, err)
			} else if re.Attempts != 1 {
				t.Errorf("%s %d: %d attempts, want 1: %v", u[:5], i, re.Attempts, err)
			}
			if !strings.Contains(err.Error(), "content length") {
				t.Errorf("%s %d: %v, want the length mismatch", u[:5], i, err)
			}
		}
		req, _ := http.NewRequest(http.MethodGet, u+"/good", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: good call after the malformed ones: %v", u[:5], err)
		}
		resp.Body.Close()
	}
	for _, r := range h1.requests() {
		if r.method != http.MethodGet {
			t.Errorf("the server got a %s with a malformed body: %q", r.method, r.body)
		}
	}
}

// opaqueReader hides its reader's type (and length) from the client.
type opaqueReader struct{ r io.Reader }

func (o opaqueReader) Read(p []byte) (int, error) { return o.r.Read(p) }
