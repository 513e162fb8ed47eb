package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// A caller's httptrace Got1xxResponse hook that returns an error aborts
// the request: net/http's documented way to stop at an informational
// response (a 103 Early Hints the caller does not want to go past). It is
// the caller's decision, as a cancellation is: bare net/http sends the
// request once and returns the hook's error. The stack sent it again on
// every attempt (each answered with the same 103, each aborted by the
// same hook), counted each against the host's breaker, and over HTTP/2
// the caller's error was not in the chain (net/http's stream error keeps
// it as a cause without Unwrap). It is sent once, not counted against the
// breaker, and errors.Is finds the hook's error.
func TestCallerInformationalHookErrorIsNotRetried(t *testing.T) {
	stop := errors.New("caller: stop at the early hints")
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "h1", true: "h2"}[h2], func(t *testing.T) {
			var calls atomic.Int32
			srv, _ := bodyServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header().Set("Link", "</style.css>; rel=preload")
				w.WriteHeader(http.StatusEarlyHints)
				_, _ = io.WriteString(w, "final")
			}))
			rc := transport.StandardPreset()
			rc.Retry.MaxAttempts = 3
			rc.Retry.BaseDelay, rc.Retry.MaxDelay = time.Millisecond, time.Millisecond
			rc.Breaker.ConsecutiveFailures = 3
			c, err := client.New(opts(loopback(),
				client.WithOrigins(srv.URL),
				client.WithResilience(rc),
			)...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()

			var hints atomic.Int32
			tr := &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
				hints.Add(1)
				return stop
			}}
			ctx := httptrace.WithClientTrace(context.Background(), tr)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/page", nil)
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("the hook's error did not abort the request")
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("server saw %d requests, want 1 (the hook's error retried): %v", n, err)
			}
			if n := hints.Load(); n != 1 {
				t.Errorf("hook called %d times, want 1", n)
			}
			if !errors.Is(err, stop) {
				t.Errorf("err %v does not match the hook's error", err)
			}

			// The host did nothing wrong: its breaker is still closed.
			calls.Store(0)
			resp, err = c.Do(mustReq(t, http.MethodGet, srv.URL+"/page"))
			if err != nil {
				t.Fatalf("next call: %v (the hook's error counted against the breaker)", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "final" || calls.Load() != 1 {
				t.Errorf("next call: body %q, %d requests", b, calls.Load())
			}
		})
	}
}
