package transport_test

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// Go's HTTP/2 transport refuses a request carrying a connection-specific
// header (RFC 9113 §8.2.2) before sending anything. That is the caller's
// malformed request: it must be permanent (not retried) and must not count
// against the host's circuit breaker, or one bad code path would open the
// breaker for every good call to the host.
func TestReview7HTTP2HeaderRefusalIsPermanent(t *testing.T) {
	var served atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) }))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	base := srv.Client().Transport.(*http.Transport).Clone()
	base.ForceAttemptHTTP2 = true
	base.TLSClientConfig = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs, NextProtos: []string{"h2"}}
	defer base.CloseIdleConnections()
	var attempts atomic.Int32
	counted := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		attempts.Add(1)
		return base.RoundTrip(req)
	})
	br := newBreaker(t, counted, transport.BreakerConfig{ConsecutiveFailures: 2})
	rt := newRetry(t, br, transport.RetryConfig{Backoff: resFixedBackoff(time.Millisecond), Budget: transport.BudgetConfig{Disabled: true}})

	for _, hdr := range [][2]string{{"Connection", "upgrade"}, {"Upgrade", "websocket"}, {"Transfer-Encoding", "gzip"}} {
		attempts.Store(0)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/bad", nil)
		req.Header.Set(hdr[0], hdr[1])
		resp, err := rt.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: a request HTTP/2 refuses succeeded (proto %s)", hdr[0], resp.Proto)
		}
		if !errors.Is(err, transport.ErrInvalidRequest) {
			t.Errorf("%s: err %v, want ErrInvalidRequest", hdr[0], err)
		}
		var re *transport.RetryError
		if !errors.As(err, &re) || re.Reason != transport.StopNotRetryable {
			t.Errorf("%s: err %v, want Reason %q", hdr[0], err, transport.StopNotRetryable)
		}
		if n := attempts.Load(); n != 1 {
			t.Errorf("%s: %d attempts, want 1 (not retried)", hdr[0], n)
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/good", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("good call after refused ones: %v (the breaker counted them)", err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("proto %s, want HTTP/2", resp.Proto)
	}
	if n := served.Load(); n != 1 {
		t.Errorf("server saw %d requests, want the good one", n)
	}
}

// A network failure of a request carrying such a header (over HTTP/1.1,
// where it is allowed) is still a network failure: retried, not reported
// as the caller's malformed request.
func TestReview7HTTP2HeaderWithNetworkErrorStillRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
		next := transporttest.NewResponder(transporttest.Fail(reset))
		rt := newRetry(t, next, transport.RetryConfig{Budget: transport.BudgetConfig{Disabled: true}})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
		req.Header.Set("Connection", "upgrade")
		_, err := rt.RoundTrip(req)
		if errors.Is(err, transport.ErrInvalidRequest) || !errors.Is(err, syscall.ECONNRESET) || next.Calls() != 3 {
			t.Fatalf("err %v after %d attempts, want a reset after 3", err, next.Calls())
		}
	})
}
