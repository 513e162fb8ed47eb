package transport_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// TestProxyConnect5xxIsNotPublished: a forward proxy that answers the
// CONNECT of an https request with a 5xx (503: the proxy itself is
// overloaded or draining; 502, 504: it could not reach the host from where
// it stands) is evidence about this replica's path to the host, not about
// the host: another replica, through its own proxy or none, may reach it.
// It counts in this process's breaker (which opens), but with a shared
// Store no opening is published, as for a proxy that cannot be reached at
// all; before, one replica's failing proxy refused the host to the whole
// fleet.
func TestProxyConnect5xxIsNotPublished(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(status)
			}))
			defer proxy.Close()
			pu, _ := url.Parse(proxy.URL)
			base := pkiBase(t, transport.BaseConfig{Proxy: http.ProxyURL(pu)}, nil, newPKIWorld(t).ca)
			store := &mapBreakerStore{}
			rt := newBreaker(t, base, transport.BreakerConfig{ConsecutiveFailures: 2, OpenTimeout: time.Hour, Store: store})

			var opened bool
			for i := range 3 {
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://api.example.test/", nil)
				resp, err := rt.RoundTrip(req)
				if resp != nil {
					resp.Body.Close()
				}
				if err == nil {
					t.Fatalf("call %d: no error through a proxy answering %d", i, status)
				}
				if errors.Is(err, transport.ErrCircuitOpen) {
					opened = true
					var ce *transport.CircuitOpenError
					if errors.As(err, &ce) && ce.Shared {
						t.Errorf("call %d: %v: refused by a shared opening", i, err)
					}
				}
			}
			if !opened {
				t.Error("this process's breaker did not open after 3 refused CONNECTs (threshold 2)")
			}
			store.mu.Lock()
			defer store.mu.Unlock()
			if len(store.published) != 0 {
				t.Errorf("the proxy's %d published an opening of the host for the fleet: %v", status, store.published)
			}
		})
	}
}
