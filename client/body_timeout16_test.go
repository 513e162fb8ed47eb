package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// newStallServer answers headers and a first chunk of the body, then
// stalls until the test ends: it never ends the body, even when the client
// goes away (a Go handler that returned then would end a chunked body
// cleanly, and the client could read that end before its own cancellation
// closed the connection).
func newStallServer(t *testing.T, h2 bool) *httptest.Server {
	t.Helper()
	_, leaf := testPKI()
	stop := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("first"))
		w.(http.Flusher).Flush()
		select {
		case <-stop:
		case <-time.After(10 * time.Second):
		}
	}))
	srv.EnableHTTP2 = h2
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	srv.Config.ErrorLog = quietLog()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // before srv.Close, which waits for the handlers
	return srv
}

func readStalled(t *testing.T, c *client.Client, ctx context.Context, url string) error {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("Do: %v (the headers arrived at once)", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Fatalf("read %q without an error", b)
	}
	return err
}

// readStalledCut is readStalled under a cut short enough (a few hundred
// ms) that a loaded machine may spend all of it before the headers arrive
// (a TLS handshake under -race): such a try, whose Do fails with the
// deadline, reads no body and is made again (at most 10 tries), each under
// a deadline of the caller's own of callerCut when callerCut > 0. It
// returns the error of the first body read.
func readStalledCut(t *testing.T, c *client.Client, callerCut time.Duration, url string) error {
	t.Helper()
	var last error
	for range 10 {
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if callerCut > 0 {
			ctx, cancel = context.WithTimeout(ctx, callerCut)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := c.Do(req)
		if err != nil {
			cancel()
			if errors.Is(err, context.DeadlineExceeded) {
				last = err // the cut came before the headers
				continue
			}
			t.Fatalf("Do: %v", err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		if err == nil {
			t.Fatalf("read %q without an error", b)
		}
		return err
	}
	t.Fatalf("no try in 10 got its headers before the cut (last: %v)", last)
	return nil
}

// TestBodyReadCutByOwnTimeoutIsTyped: a body read cut by the client's own
// total timeout (WithTimeout) or attempt timeout (WithAttemptTimeout) fails
// with a *transport.BodyTimeoutError naming that timeout, which still
// matches context.DeadlineExceeded and is a timeout; the same read cut by
// the caller's own context deadline is net/http's plain context error, so
// the two can be told apart. Over HTTP/1.1 and HTTP/2.
func TestBodyReadCutByOwnTimeoutIsTyped(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		proto := "h1"
		if h2 {
			proto = "h2"
		}
		srv := newStallServer(t, h2)
		for _, tc := range []struct {
			name  string
			o     []client.Option
			ctx   time.Duration
			layer transport.TimeoutLayer // "" for the caller's own deadline
			d     time.Duration
		}{
			{"total", []client.Option{client.WithTimeout(300 * time.Millisecond), client.WithAttemptTimeout(0)}, 0, transport.TimeoutTotal, 300 * time.Millisecond},
			{"attempt", []client.Option{client.WithTimeout(5 * time.Second), client.WithAttemptTimeout(300 * time.Millisecond)}, 0, transport.TimeoutAttempt, 300 * time.Millisecond},
			// WithTimeout alone lowers the preset's attempt timeout to a third of it.
			{"attempt-derived", []client.Option{client.WithTimeout(600 * time.Millisecond)}, 0, transport.TimeoutAttempt, 200 * time.Millisecond},
			{"caller", nil, 300 * time.Millisecond, "", 0},
			{"caller-with-timeouts", []client.Option{client.WithTimeout(5 * time.Second), client.WithAttemptTimeout(2 * time.Second)}, 300 * time.Millisecond, "", 0},
		} {
			t.Run(proto+"/"+tc.name, func(t *testing.T) {
				c, err := client.New(opts(loopback(), append([]client.Option{client.WithOrigins(srv.URL), client.WithMaxAttempts(1), client.WithoutBreaker()}, tc.o...)...)...)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				err = readStalledCut(t, c, tc.ctx, srv.URL+"/")
				if !errors.Is(err, context.DeadlineExceeded) || !os.IsTimeout(err) {
					t.Fatalf("read error %v: want a timeout matching context.DeadlineExceeded", err)
				}
				bte, typed := errors.AsType[*transport.BodyTimeoutError](err)
				switch {
				case tc.layer == "":
					if typed {
						t.Fatalf("the caller's own deadline reported as the library's: %v", err)
					}
					if err != context.DeadlineExceeded {
						t.Errorf("read error %T %v: want the plain context error", err, err)
					}
				case !typed:
					t.Fatalf("read error %T %v: want a *transport.BodyTimeoutError", err, err)
				case bte.Layer != tc.layer || bte.Duration != tc.d:
					t.Errorf("BodyTimeoutError{Layer %q, Duration %v}, want %q, %v", bte.Layer, bte.Duration, tc.layer, tc.d)
				}
			})
		}
	}
}

// TestBodyReadCutByTotalTimeoutOnRetry: a retried attempt whose own
// timeout would end after the call's total timeout (the backoff before it
// waited on the total deadline) reads its body under the total timeout's
// deadline alone: the read it cuts is the total timeout's.
func TestBodyReadCutByTotalTimeoutOnRetry(t *testing.T) {
	_, leaf := testPKI()
	stop := make(chan struct{})
	var n atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/warm" {
			return
		}
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("first"))
		w.(http.Flusher).Flush()
		select {
		case <-stop:
		case <-time.After(10 * time.Second):
		}
	}))
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	srv.Config.ErrorLog = quietLog()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })

	backoff := func(_, _ time.Duration, _ int, _ *http.Response) time.Duration { return 300 * time.Millisecond }
	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), client.WithoutBreaker(), client.WithMaxAttempts(2),
		client.WithTimeout(time.Second), client.WithAttemptTimeout(900*time.Millisecond),
		client.WithRetryPolicy(nil, backoff))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The call runs over a connection set up before it: its first
	// attempt's 503 and the backoff must fit in the 1 s total, which the
	// TLS handshake of a new connection could use up on a loaded machine.
	warm(t, c, srv.URL+"/warm")
	err = readStalled(t, c, context.Background(), srv.URL+"/")
	if got := n.Load(); got != 2 {
		t.Fatalf("%d requests, want 2 (the body read is the second attempt's)", got)
	}
	bte, ok := errors.AsType[*transport.BodyTimeoutError](err)
	if !ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read error %T %v: want a *transport.BodyTimeoutError", err, err)
	}
	if bte.Layer != transport.TimeoutTotal || bte.Duration != time.Second {
		t.Errorf("BodyTimeoutError{Layer %q, Duration %v}, want total, 1s", bte.Layer, bte.Duration)
	}
}
