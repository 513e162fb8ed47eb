package tokens

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// hungTokenServer is a token endpoint whose first request hangs until the
// client gives up on it (its connection closes); later requests are
// answered at once with a token of an hour. It counts requests, and the
// connections opened and closed on the server side.
type hungTokenServer struct {
	*httptest.Server
	requests       atomic.Int32
	opened, closed atomic.Int32
	arrived        chan struct{}
}

func newHungTokenServer(t *testing.T) *hungTokenServer {
	t.Helper()
	s := &hungTokenServer{arrived: make(chan struct{})}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The form read whole, the server watches the connection and
		// cancels r's context when the client closes it.
		_ = r.ParseForm()
		if s.requests.Add(1) == 1 {
			close(s.arrived)
			<-r.Context().Done() // held until the client closes the connection
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"tok","token_type":"Bearer","expires_in":3600}`)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.opened.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.closed.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// waitUntil polls cond for up to 15 s (a loaded machine runs exiting
// goroutines late) and fails with msg() when it never holds.
func waitUntil(t *testing.T, cond func() bool, msg func() string) {
	t.Helper()
	for range 1500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error(msg())
}

// TestCacheCloseCancelsHungRefresh: a refresh held by a token endpoint that
// never answers is cancelled by Close (with the default 30 s refresh
// timeout, it would otherwise keep its goroutines and its connection that
// long): the caller waiting for it gets an error matching ErrClosed, the
// connection is closed, no goroutine is left, and Token after Close
// returns ErrClosed at once without another token request.
func TestCacheCloseCancelsHungRefresh(t *testing.T) {
	as := newHungTokenServer(t)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	runtime.GC()
	baseline := runtime.NumGoroutine()

	cc, err := NewClientCredentials(OAuth2Config{
		TokenURL:   as.URL + "/token",
		ClientID:   "close15",
		Auth:       ClientSecretBasic(StaticSecret([]byte("s3cret"))),
		HTTPClient: &http.Client{Transport: tr},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := mustCache(t, cc) // default refresh timeout: 30 s
	errc := make(chan error, 1)
	go func() {
		_, err := c.Token(context.Background())
		errc <- err
	}()
	<-as.arrived

	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The caller waiting for the refresh is answered (well before the
	// refresh timeout would end it).
	var waited error
	waitUntil(t, func() bool {
		select {
		case waited = <-errc:
			return true
		default:
			return false
		}
	}, func() string { return "the caller waiting for the refresh at Close is still waiting" })
	if t.Failed() {
		t.FailNow()
	}
	if !errors.Is(waited, ErrClosed) {
		t.Errorf("Token waiting at Close: %v, want ErrClosed", waited)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for range 3 {
		if tok, err := c.Token(context.Background()); !errors.Is(err, ErrClosed) {
			t.Errorf("Token after Close: %v, %v; want ErrClosed", tok, err)
		}
	}
	if _, ok := c.CachedToken(context.Background()); ok {
		t.Error("CachedToken after Close reported a token")
	}
	if n := as.requests.Load(); n != 1 {
		t.Errorf("%d token requests, want 1 (none after Close)", n)
	}
	waitUntil(t, func() bool { return as.closed.Load() == as.opened.Load() }, func() string {
		return fmt.Sprintf("token server: %d connections opened, %d closed", as.opened.Load(), as.closed.Load())
	})
	tr.CloseIdleConnections()
	waitUntil(t, func() bool { return runtime.NumGoroutine() <= baseline }, func() string {
		buf := make([]byte, 1<<16)
		return fmt.Sprintf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
	})
}

// TestCacheCloseStartsNoRefresh: after Close, a token that is still fresh
// is served (calls in flight at a client's Close complete), but no refresh
// starts: not in the early-refresh window, not after Invalidate, where
// Token returns ErrClosed at once. A zero Cache's Close does nothing.
func TestCacheCloseStartsNoRefresh(t *testing.T) {
	src := &fakeSource{ttl: 2 * time.Hour}
	c := mustCache(t, src, WithJitter(0))
	tok := mustToken(t, c, "tok-1")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	mustToken(t, c, "tok-1")
	// The wall clock says the token is in its early-refresh window (the
	// last hour of its life): a refresh would start now, but for Close.
	c.wallAhead.Store(int64(90 * time.Minute))
	for range 3 {
		mustToken(t, c, "tok-1")
	}
	if !c.Invalidate(tok) {
		t.Fatal("Invalidate after Close kept the token")
	}
	if _, err := c.Token(context.Background()); !errors.Is(err, ErrClosed) || errors.Is(err, ErrBackoff) {
		t.Errorf("Token after Close and Invalidate: %v, want ErrClosed", err)
	}
	if n := src.calls.Load(); n != 1 {
		t.Errorf("%d source calls, want 1 (none after Close)", n)
	}
	var zero Cache
	if err := zero.Close(); err != nil {
		t.Errorf("zero Cache Close: %v", err)
	}
}
