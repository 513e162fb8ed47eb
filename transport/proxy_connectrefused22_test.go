package transport_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// A forward proxy that refuses the CONNECT for an https request (407: this
// replica's proxy credentials are missing or wrong; 403: the proxy's
// policy) never let the request near the host, and answers every attempt
// the same way. net/http reports only the proxy's reason phrase as a flat
// error ("Proxy Authentication Required"), which the classifier took for
// an unknown, ambiguous failure of the host: a GET was tried MaxAttempts
// times and each attempt was a breaker failure, so a call or two opened
// the host's circuit (and, with a shared BreakerConfig.Store, every other
// replica's, whose proxies may work); and a POST the proxy turned away
// with 502 (it could not reach the host) was not retried, though nothing
// of it was sent. The Base now reports the refusal as a
// *transport.ProxyConnectError (its status code): permanent and no fault
// of the host for a 4xx; for a 5xx never sent, so retried whatever the
// method, and a breaker failure; for 429 and 408 never sent and no
// breaker failure.
func TestProxyConnectRefusal(t *testing.T) {
	for _, tc := range []struct {
		status   int
		attempts int32 // CONNECTs the proxy sees for one call (MaxAttempts 3)
		class    transport.Class
		breaker  transport.BreakerOutcome
	}{
		{http.StatusProxyAuthRequired, 1, transport.ClassPermanent, transport.BreakerExcluded},
		{http.StatusForbidden, 1, transport.ClassPermanent, transport.BreakerExcluded},
		{http.StatusBadGateway, 3, transport.ClassNeverSent, transport.BreakerFailure},
		{http.StatusGatewayTimeout, 3, transport.ClassNeverSent, transport.BreakerFailure},
		{http.StatusTooManyRequests, 3, transport.ClassNeverSent, transport.BreakerExcluded},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			var connects atomic.Int32
			proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodConnect {
					connects.Add(1)
				}
				w.WriteHeader(tc.status)
			}))
			t.Cleanup(proxy.Close)
			pu, _ := url.Parse(proxy.URL)
			b, err := transport.NewBase(transport.BaseConfig{Proxy: http.ProxyURL(pu)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.CloseIdleConnections)
			br := newBreaker(t, b, transport.BreakerConfig{ConsecutiveFailures: 4, Window: time.Minute})
			rt := newRetry(t, br, transport.RetryConfig{MaxAttempts: 3, Backoff: resFixedBackoff(time.Millisecond), Budget: transport.BudgetConfig{Disabled: true}})
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://api.example.test/v1/orders", strings.NewReader("{}"))
			req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("{}")), nil }
			_, err = rt.RoundTrip(req)
			if err == nil {
				t.Fatal("a refused CONNECT succeeded")
			}
			var pe *transport.ProxyConnectError
			if !errors.As(err, &pe) || pe.StatusCode != tc.status {
				t.Fatalf("err %v (%T), want a *ProxyConnectError with status %d", err, err, tc.status)
			}
			if n := connects.Load(); n != tc.attempts {
				t.Errorf("the proxy saw %d CONNECTs, want %d", n, tc.attempts)
			}
			v := transport.Classify(context.Background(), nil, err, time.Now())
			if v.Class != tc.class || v.Breaker != tc.breaker {
				t.Errorf("Classify = %v/%v, want %v/%v", v.Class, v.Breaker, tc.class, tc.breaker)
			}
			if strings.Contains(err.Error(), pu.Host) {
				t.Errorf("err %q names the proxy", err)
			}
			if tc.breaker == transport.BreakerExcluded {
				// GETs, retried when replayable: the host's circuit stays
				// closed however many calls the proxy refuses.
				for range 3 {
					_, err := resSend(t, t.Context(), rt, "https://api.example.test/v1/x")
					if errors.Is(err, transport.ErrCircuitOpen) {
						t.Fatalf("a GET refused by the proxy opened the host's circuit: %v", err)
					}
				}
			}
		})
	}
}
