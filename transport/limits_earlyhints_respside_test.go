package transport_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// Over HTTP/2, 1xx responses (103 Early Hints) each under the header
// list size but together over the limit fail the stream with a
// PROTOCOL_ERROR ("header list too large"): the same *ResponseTooLargeError
// for the header as an oversized final header, which no layer retries,
// not an unknown error retried (and counted against the host's breaker)
// on every attempt.
func TestBaseBoundsHTTP2InformationalHeaders(t *testing.T) {
	const limit = 64 << 10
	var calls atomic.Int32
	w := newPKIWorld(t)
	srv := pkiServer(t, w.leaf.TLS, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		// The header map is set once and never changed afterwards: once
		// the client resets the stream, net/http's HTTP/2 server returns
		// from WriteHeader while its frame writer may still be reading the
		// map (a race in the test server, not in the client).
		w.Header().Set("Link", strings.Repeat("a", limit/4))
		for i := 0; i < 16; i++ { // 4 times the limit, a quarter each
			w.WriteHeader(http.StatusEarlyHints)
		}
		w.WriteHeader(http.StatusOK)
	}), nil)
	b := pkiBase(t, transport.BaseConfig{MaxResponseHeaderBytes: limit}, srv, w.ca)
	rt, err := transport.NewRetry(b, transport.RetryConfig{MaxAttempts: 3, BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://api.example.test/", nil)
	resp, err := rt.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("1xx headers over the limit were accepted (%s %d)", resp.Proto, resp.StatusCode)
	}
	var tl *transport.ResponseTooLargeError
	if !errors.As(err, &tl) || tl.Part != "header" || tl.Limit != limit {
		t.Errorf("err = %v, want a *ResponseTooLargeError for the header", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("server called %d times, want 1 (no retry)", n)
	}
}
