package transport_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// upgradeGet is an HTTP/1.1 upgrade request (a WebSocket handshake, as
// coder/websocket sends through an http.Client): its Connection and
// Upgrade fields are valid HTTP/1.1, and only HTTP/2 refuses them.
func upgradeGet(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	return req
}

// An error that is not Go's HTTP/2 header refusal stays what it is on a
// request carrying an HTTP/1.1 connection-specific header: a token
// endpoint that is down is retried, a flat HTTP/1.x connection error is
// retried (a GET) and counted against the breaker. Neither is the
// caller's malformed request.
func TestSecond7aUpgradeRequestErrorsNotInvalidRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"token endpoint down", &transport.AuthError{Layer: "auth", Err: errors.New("token endpoint: 502")}},
		{"server closed idle connection", errors.New("http: server closed idle connection")},
		{"malformed response", errors.New(`net/http: HTTP/1.x transport connection broken: malformed HTTP status code "x"`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				next := transporttest.NewResponder(transporttest.Fail(tc.err))
				rt := newRetry(t, next, transport.RetryConfig{Backoff: resFixedBackoff(time.Millisecond), Budget: transport.BudgetConfig{Disabled: true}})
				_, err := rt.RoundTrip(upgradeGet(t, resURL))
				if errors.Is(err, transport.ErrInvalidRequest) {
					t.Errorf("err %v: reported as the caller's invalid request", err)
				}
				if next.Calls() != 3 {
					t.Errorf("%d attempts, want 3 (retried)", next.Calls())
				}
			})
		})
	}
}

// A proxy refusing the CONNECT of an HTTP/1.1 upgrade request is the
// proxy's failure (Go reports it as a flat error: the status text), not
// the caller's malformed request: it counts against the host's breaker.
func TestSecond7aProxyFailureOfUpgradeRequestCountsAgainstBreaker(t *testing.T) {
	var connects atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		connects.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	base := &http.Transport{Proxy: http.ProxyURL(pu)}
	defer base.CloseIdleConnections()
	br := newBreaker(t, base, transport.BreakerConfig{ConsecutiveFailures: 2})
	for range 2 {
		_, err := br.RoundTrip(upgradeGet(t, "https://ws.example.test/socket"))
		if err == nil || errors.Is(err, transport.ErrInvalidRequest) {
			t.Fatalf("err %v, want the proxy's failure, not ErrInvalidRequest", err)
		}
	}
	_, err := br.RoundTrip(upgradeGet(t, "https://ws.example.test/socket"))
	if !errors.Is(err, transport.ErrCircuitOpen) {
		t.Errorf("third call: err %v, want ErrCircuitOpen after 2 proxy failures", err)
	}
	if n := connects.Load(); n != 2 {
		t.Errorf("%d CONNECTs, want 2", n)
	}
}

// The HTTP/2 header refusal names the field, never its value (docs/errors.md:
// ErrInvalidRequest), though net/http's own message quotes the value.
func TestSecond7aHTTP2RefusalDoesNotQuoteValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const value = "keep-alive, X-Session-7f3a9c"
		refusal := fmt.Errorf("invalid Connection request header: %q", []string{value})
		next := transporttest.NewResponder(transporttest.Fail(refusal))
		rt := newRetry(t, next, transport.RetryConfig{})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
		req.Header.Set("Connection", value)
		_, err := rt.RoundTrip(req)
		if !errors.Is(err, transport.ErrInvalidRequest) || !errors.Is(err, refusal) {
			t.Fatalf("err %v, want ErrInvalidRequest wrapping the refusal", err)
		}
		if msg := err.Error(); strings.Contains(msg, "X-Session-7f3a9c") || !strings.Contains(msg, `"Connection"`) {
			t.Errorf("err %q: want the field named and its value left out", msg)
		}
	})
}
