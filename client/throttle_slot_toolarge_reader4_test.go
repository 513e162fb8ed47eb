package client_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// TestSlotFreedAtTooLargeBody: with MaxConcurrent 1 and no deadline, a
// response body its caller reads to an error but never closes gives the
// host's slot back at that error (docs/resilience.md: "a read that returns
// another error"), as one read to io.EOF does since 6382fe8. The error of
// a body past WithMaxResponseBytes (ErrResponseTooLarge) came from the
// limits layer above the throttle, which never read the rest of the body
// below it: the slot stayed taken for good, and every later call to the
// host waited MaxWait and failed.
func TestSlotFreedAtTooLargeBody(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "h1", true: "h2"}[h2], func(t *testing.T) {
			srv, _ := bodyServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// No Content-Length: the limit is found while reading.
				w.WriteHeader(http.StatusOK)
				w.(http.Flusher).Flush()
				_, _ = io.WriteString(w, strings.Repeat("x", 1000))
			}))
			rc := transport.StandardPreset()
			rc.Retry.MaxAttempts = 1
			rc.DisableBreaker = true
			rc.Throttle.Limit = transport.HostLimit{MaxConcurrent: 1}
			rc.Throttle.MaxWait = 200 * time.Millisecond
			rc.TotalTimeout = 0 // no deadline: no context end frees the slot
			rc.AttemptTimeout = 0
			c, err := client.New(opts(loopback(),
				client.WithOrigins(srv.URL),
				client.WithResilience(rc),
				client.WithMaxResponseBytes(100),
			)...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()

			var bodies []io.ReadCloser
			defer func() {
				for _, b := range bodies {
					b.Close()
				}
			}()
			for i := range 3 {
				resp, err := c.Do(mustReq(t, http.MethodGet, srv.URL+"/big"))
				if err != nil {
					t.Fatalf("call %d: %v (an earlier body read to its error still holds the slot)", i, err)
				}
				bodies = append(bodies, resp.Body) // never closed before the next call
				if _, err := io.ReadAll(resp.Body); !errors.Is(err, client.ErrResponseTooLarge) {
					t.Fatalf("call %d: reading the body: %v, want ErrResponseTooLarge", i, err)
				}
			}
		})
	}
}
