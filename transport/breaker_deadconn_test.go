package transport_test

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// connKiller is a listener whose accepted connections can all be closed at
// once: the server side of a connection that dies.
type connKiller struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *connKiller) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

func (l *connKiller) killAll() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
	n := len(l.conns)
	l.conns = nil
	return n
}

// deadConnServer is a TLS server (HTTP/2 when h2) whose handlers hold every
// request open until its connection dies; entered receives one value per
// GET that reached a handler (a HEAD is answered at once).
func deadConnServer(t *testing.T, h2 bool) (*httptest.Server, *connKiller, *http.Transport, chan struct{}) {
	t.Helper()
	entered := make(chan struct{}, 64)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			return
		}
		entered <- struct{}{}
		<-r.Context().Done()
	}))
	kl := &connKiller{Listener: srv.Listener}
	srv.Listener = kl
	srv.EnableHTTP2 = h2
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	base := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: h2}
	if h2 {
		base.TLSClientConfig.NextProtos = []string{"h2"}
	} else {
		base.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	t.Cleanup(base.CloseIdleConnections)
	return srv, kl, base, entered
}

// wave sends n concurrent GETs through rt, waits until all n are held by
// the server, kills every server connection, and returns the requests'
// errors.
func wave(t *testing.T, rt http.RoundTripper, srv *httptest.Server, kl *connKiller, entered chan struct{}, n int) []error {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
			resp, err := rt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
			errs[i] = err
		})
	}
	for range n {
		<-entered
	}
	kl.killAll()
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			t.Fatalf("request %d succeeded on a killed connection", i)
		}
		if errors.Is(err, transport.ErrCircuitOpen) {
			t.Fatalf("request %d refused by the breaker before being sent: %v", i, err)
		}
	}
	return errs
}

// breakerOpen reports whether rt's breaker for srv refuses a request.
func breakerOpen(t *testing.T, rt http.RoundTripper, srv *httptest.Server) bool {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodHead, srv.URL, nil)
	resp, err := rt.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
	}
	return errors.Is(err, transport.ErrCircuitOpen)
}

// deadConnStack is the retry layer (one attempt per call) over the
// breaker, opening when at least 4 attempts were made and half of them
// failed (no consecutive-failure rule), over base.
func deadConnStack(t *testing.T, base http.RoundTripper) http.RoundTripper {
	br := newBreaker(t, base, transport.BreakerConfig{ConsecutiveFailures: -1, MinRequests: 4, FailureRatio: 0.5})
	return newRetry(t, br, transport.RetryConfig{MaxAttempts: 1, Budget: transport.BudgetConfig{Disabled: true}})
}

// One HTTP/2 connection dying fails every stream in flight on it at once:
// that is one network event, and counts as one breaker failure, not one
// per stream. A second connection dying is a second failure.
func TestBreakerDeadHTTP2ConnCountsOnce(t *testing.T) {
	srv, kl, base, entered := deadConnServer(t, true)
	rt := deadConnStack(t, base)

	const n = 5
	// A success opens the connection the streams will share.
	if breakerOpen(t, rt, srv) {
		t.Fatal("breaker open before any failure")
	}
	wave(t, rt, srv, kl, entered, n)
	// Counted as one: 1 failure in 2 attempts, under MinRequests.
	// Counted per stream: 5 in 6, open.
	if breakerOpen(t, rt, srv) {
		t.Fatalf("%d streams of one dead HTTP/2 connection opened the breaker: each stream was counted", n)
	}
	// The check went over a fresh connection, which the next wave shares:
	// 2 failures in 4 attempts open the breaker.
	wave(t, rt, srv, kl, entered, n)
	if !breakerOpen(t, rt, srv) {
		t.Fatal("a second dead HTTP/2 connection was not counted")
	}
}

// Failures on distinct connections (HTTP/1.1: one request per connection)
// are distinct failures, even when they happen at once. (No connection is
// reused: net/http would resend a GET whose reused connection died.)
func TestBreakerDeadConnsCountEach(t *testing.T) {
	srv, kl, base, entered := deadConnServer(t, false)
	rt := deadConnStack(t, base)
	wave(t, rt, srv, kl, entered, 4) // 4 failures in 4 attempts
	if !breakerOpen(t, rt, srv) {
		t.Fatal("4 dead HTTP/1.1 connections at once did not open the breaker: not counted each")
	}
}

// TestBreakerDeadHTTP2ConnCountsOnceUnderTimeouts is
// TestBreakerDeadHTTP2ConnCountsOnce with the timeout layers of a
// client.New stack around it (total timeout above the retry, attempt
// timeout under the breaker): a call's first attempt gets its deadline on
// the total timeout's parent context, above the attempt's own, and
// net/http must still find the breaker's connection probe through it.
func TestBreakerDeadHTTP2ConnCountsOnceUnderTimeouts(t *testing.T) {
	srv, kl, base, entered := deadConnServer(t, true)
	at, err := transport.NewAttemptTimeout(base, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := transport.NewTotalTimeout(deadConnStack(t, at), 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	if breakerOpen(t, rt, srv) {
		t.Fatal("breaker open before any failure")
	}
	wave(t, rt, srv, kl, entered, n)
	if breakerOpen(t, rt, srv) {
		t.Fatalf("%d streams of one dead HTTP/2 connection opened the breaker: each stream was counted", n)
	}
	wave(t, rt, srv, kl, entered, n)
	if !breakerOpen(t, rt, srv) {
		t.Fatal("a second dead HTTP/2 connection was not counted")
	}
}
