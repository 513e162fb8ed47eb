package transport_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// mapBreakerStore is a BreakerStore over a map, recording what was
// published.
type mapBreakerStore struct {
	mu        sync.Mutex
	ends      map[string]time.Time
	published []string
}

func (s *mapBreakerStore) OpenUntil(host string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ends[host]
}

func (s *mapBreakerStore) SetOpenUntil(host string, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ends == nil {
		s.ends = make(map[string]time.Time)
	}
	s.ends[host] = until
	s.published = append(s.published, host)
}

// TestProxyAuthRequiredIsNotTheHosts: a proxy that refuses the CONNECT
// with 407 Proxy Authentication Required (this process's proxy
// credential is missing, wrong or rotated away) never let the request
// reach the host. It is no failure of the host: the host's breaker does
// not count it (here, nor in the fleet through a Store: one replica with
// a stale proxy password opened the host's breaker for every replica),
// and the retry layer does not send it again (the same credential gets
// the same answer). The error says the proxy refused and why.
func TestProxyAuthRequiredIsNotTheHosts(t *testing.T) {
	var connects atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		connects.Add(1)
		w.Header().Set("Proxy-Authenticate", `Basic realm="egress"`)
		w.WriteHeader(http.StatusProxyAuthRequired)
	}))
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	base := pkiBase(t, transport.BaseConfig{Proxy: http.ProxyURL(pu)}, nil, newPKIWorld(t).ca)
	store := &mapBreakerStore{}
	br := newBreaker(t, base, transport.BreakerConfig{ConsecutiveFailures: 2, Store: store})
	rt := newRetry(t, br, transport.RetryConfig{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond})

	for i := range 4 {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://api.example.test/", nil)
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if err == nil {
			t.Fatalf("call %d: no error through a proxy answering 407", i)
		}
		if errors.Is(err, transport.ErrCircuitOpen) {
			t.Fatalf("call %d: %v: the host's breaker opened on the proxy's 407", i, err)
		}
		var re *transport.RetryError
		if !errors.As(err, &re) || re.Attempts != 1 || re.Reason != transport.StopNotRetryable {
			t.Errorf("call %d: %v, want a RetryError after 1 attempt, reason %s", i, err, transport.StopNotRetryable)
		}
		if v := transport.Classify(context.Background(), nil, err, time.Now()); v.Class != transport.ClassPermanent || v.Breaker != transport.BreakerExcluded {
			t.Errorf("call %d: classified %+v, want permanent, breaker excluded", i, v)
		}
		if msg := err.Error(); !containsAll(msg, "proxy", "407", "Proxy Authentication Required") {
			t.Errorf("call %d: %q does not say the proxy refused with 407", i, msg)
		}
	}
	if n := connects.Load(); n != 4 {
		t.Errorf("%d CONNECTs for 4 calls, want 4 (one each: not retried, not refused by the breaker)", n)
	}
	if len(store.published) != 0 {
		t.Errorf("published an opening for %v", store.published)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
