package transport_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// h2Server starts an HTTP/2 TLS test server for h and returns it with an
// HTTP/2-only clone of its client transport.
func h2Server(t *testing.T, h http.Handler, tune func(*http.Server)) (*httptest.Server, *http.Transport) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	if tune != nil {
		tune(srv.Config)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	base := srv.Client().Transport.(*http.Transport).Clone()
	base.ForceAttemptHTTP2 = true
	base.TLSClientConfig = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs, NextProtos: []string{"h2"}}
	t.Cleanup(base.CloseIdleConnections)
	return srv, base
}

// Go's HTTP/2 transport refuses, before sending anything, a request whose
// header list is larger than the limit the server advertised
// (SETTINGS_MAX_HEADER_LIST_SIZE, RFC 9113 §6.5.2). That is the caller's
// oversized request, as the server's 431 would say: it must not be
// retried (every attempt fails the same way, at once) and must not count
// against the host's breaker, or a few calls with a large header would
// open it for every good call to the host.
func TestH2HeaderListTooLargeIsInvalidRequest(t *testing.T) {
	var served atomic.Int32
	srv, base := h2Server(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served.Add(1) }),
		func(s *http.Server) { s.MaxHeaderBytes = 1 << 10 })
	var attempts atomic.Int32
	counted := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		attempts.Add(1)
		return base.RoundTrip(req)
	})
	br := newBreaker(t, counted, transport.BreakerConfig{ConsecutiveFailures: 2})
	rt := newRetry(t, br, transport.RetryConfig{Backoff: resFixedBackoff(time.Millisecond), Budget: transport.BudgetConfig{Disabled: true}})

	get := func(path string, big bool) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
		if big {
			req.Header.Set("X-Big", strings.Repeat("a", 16<<10))
		}
		return rt.RoundTrip(req)
	}
	// A first call, so the client has the server's SETTINGS.
	resp, err := get("/warm", false)
	if err != nil {
		t.Fatalf("warm-up: %v", err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("proto %s, want HTTP/2", resp.Proto)
	}
	for i := range 3 {
		attempts.Store(0)
		resp, err := get("/big", true)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("call %d: an oversized header list was sent (status %d)", i, resp.StatusCode)
		}
		if !errors.Is(err, transport.ErrInvalidRequest) {
			t.Errorf("call %d: err %v, want ErrInvalidRequest", i, err)
		}
		if n := attempts.Load(); n != 1 {
			t.Errorf("call %d: %d attempts, want 1 (not retried)", i, n)
		}
	}
	resp, err = get("/good", false)
	if err != nil {
		t.Fatalf("good call after the oversized ones: %v (the breaker counted them)", err)
	}
	resp.Body.Close()
	if n := served.Load(); n != 2 {
		t.Errorf("server saw %d requests, want 2 (warm-up and good)", n)
	}
}
