package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// memBreakers is an in-memory transport.BreakerStore: what the fleet
// module's Redis store looks like to a client.
type memBreakers struct {
	mu   sync.Mutex
	m    map[string]time.Time
	sets atomic.Int32
}

func (s *memBreakers) OpenUntil(host string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[host]
}

func (s *memBreakers) SetOpenUntil(host string, until time.Time) {
	s.sets.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]time.Time{}
	}
	if until.After(s.m[host]) {
		s.m[host] = until
	}
}

// memQuota is a quota of n requests in all, shared by its users; once
// spent it asks them to wait an hour.
type memQuota struct {
	left  atomic.Int64
	calls atomic.Int64
}

func (q *memQuota) TakeQuota(ctx context.Context, host string) (time.Duration, error) {
	q.calls.Add(1)
	if q.left.Add(-1) >= 0 {
		return 0, nil
	}
	q.left.Add(1)
	return time.Hour, nil
}

// memFleet is a client.Fleet of in-memory stores.
type memFleet struct {
	cool  transport.CooldownStore
	br    transport.BreakerStore
	quota transport.SharedQuota
}

func (f *memFleet) CooldownStore() transport.CooldownStore { return f.cool }
func (f *memFleet) BreakerStore() transport.BreakerStore   { return f.br }
func (f *memFleet) SharedQuota() transport.SharedQuota     { return f.quota }

// failingServer answers every request with 503 (no Retry-After) and
// counts them.
func failingServer(t *testing.T) (string, *atomic.Int32) {
	var hits atomic.Int32
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	return srv.URL, &hits
}

func newReplica(t *testing.T, origin string, more ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(opts(loopback(), append([]client.Option{client.WithOrigins(origin), client.WithMaxAttempts(1), client.WithTimeout(5 * time.Second)}, more...)...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func get(c *client.Client, u string) (int, error) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// tripBreaker sends through c until its breaker for u's host opens.
func tripBreaker(t *testing.T, c *client.Client, u string) {
	t.Helper()
	for range transport.DefaultBreakerConsecutiveFailures {
		if code, err := get(c, u); err != nil || code != http.StatusServiceUnavailable {
			t.Fatalf("tripping: %d %v", code, err)
		}
	}
	if _, err := get(c, u); !errors.Is(err, client.ErrCircuitOpen) {
		t.Fatalf("breaker not open after %d failures: %v", transport.DefaultBreakerConsecutiveFailures, err)
	}
}

// TestBreakerStoreSharedByClients: two clients on one breaker store act as
// two replicas; once A's breaker opens, B fails fast without sending.
func TestBreakerStoreSharedByClients(t *testing.T) {
	u, hits := failingServer(t)
	store := &memBreakers{}
	a := newReplica(t, u, client.WithBreakerStore(store))
	b := newReplica(t, u, client.WithBreakerStore(store))
	tripBreaker(t, a, u)
	sent := hits.Load()
	host, _ := url.Parse(u)
	if !store.OpenUntil(transport.HostKey(host)).After(time.Now()) || store.sets.Load() != 1 {
		t.Fatalf("A's opening not published: %v, %d sets", store.OpenUntil(transport.HostKey(host)), store.sets.Load())
	}
	for range 10 {
		_, err := get(b, u)
		var ce *transport.CircuitOpenError
		if !errors.As(err, &ce) || !ce.Shared || !errors.Is(err, client.ErrCircuitOpen) {
			t.Fatalf("B: %v", err)
		}
	}
	if got := hits.Load(); got != sent {
		t.Fatalf("B sent %d requests while A's breaker was open", got-sent)
	}
}

// TestSharedQuotaAcrossClients: two clients on one quota of 3 send 3
// requests between them; the others are refused with ErrRateLimited.
func TestSharedQuotaAcrossClients(t *testing.T) {
	var hits atomic.Int32
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	q := &memQuota{}
	q.left.Store(3)
	a := newReplica(t, srv.URL, client.WithSharedQuota(q))
	b := newReplica(t, srv.URL, client.WithSharedQuota(q))
	ok, limited := 0, 0
	for i := range 8 {
		c := a
		if i%2 == 1 {
			c = b
		}
		_, err := get(c, srv.URL)
		switch {
		case err == nil:
			ok++
		case errors.Is(err, client.ErrRateLimited):
			limited++
		default:
			t.Fatal(err)
		}
	}
	if ok != 3 || limited != 5 || hits.Load() != 3 {
		t.Fatalf("ok %d, limited %d, server saw %d; want 3, 5, 3", ok, limited, hits.Load())
	}
}

// TestWithFleet: the fleet's three stores are used: a cooldown set by one
// replica stops the other, the quota is taken, and a breaker opened on one
// replica fails the other fast.
func TestWithFleet(t *testing.T) {
	var mode atomic.Int32 // 0: 429 Retry-After 60, 1: 503
	var hits atomic.Int32
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if mode.Load() == 0 {
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	q := &memQuota{}
	q.left.Store(1000)
	f := &memFleet{cool: transport.NewCooldowns(16), br: &memBreakers{}, quota: q}
	a := newReplica(t, srv.URL, client.WithFleet(f))
	b := newReplica(t, srv.URL, client.WithFleet(f))

	if code, err := get(a, srv.URL); err != nil || code != http.StatusTooManyRequests {
		t.Fatalf("A: %d %v", code, err)
	}
	if _, err := get(b, srv.URL); !errors.Is(err, client.ErrRateLimited) {
		t.Fatalf("B during A's cooldown: %v", err)
	}
	if hits.Load() != 1 || q.calls.Load() != 1 {
		t.Fatalf("server saw %d, quota asked %d times; want 1, 1", hits.Load(), q.calls.Load())
	}

	// A new host (another origin name for the same server) for the
	// breaker part, free of the cooldown.
	mode.Store(1)
	u := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	a2 := newReplica(t, u, client.WithFleet(f))
	b2 := newReplica(t, u, client.WithFleet(f))
	tripBreaker(t, a2, u)
	sent := hits.Load()
	var ce *transport.CircuitOpenError
	if _, err := get(b2, u); !errors.As(err, &ce) || !ce.Shared {
		t.Fatalf("B after A's breaker opened: %v", err)
	}
	if hits.Load() != sent {
		t.Fatal("B sent while the fleet's breaker was open")
	}
}

// TestWithFleetIndividualOptionsWin: WithBreakerStore replaces the
// fleet's breaker store whatever the order; a fleet store left nil is
// not shared; a typed nil counts as nil.
func TestWithFleetIndividualOptionsWin(t *testing.T) {
	u, hits := failingServer(t)
	host, _ := url.Parse(u)
	open := &memBreakers{}
	open.SetOpenUntil(transport.HostKey(host), time.Now().Add(time.Hour))
	f := &memFleet{br: &memBreakers{}, quota: (*memQuota)(nil)}
	// A store in a WithResilience config is as explicit as WithBreakerStore.
	rc, _ := transport.Preset("standard")
	rc.Breaker.Store = open
	rc.Retry.MaxAttempts = 1
	for i, o := range [][]client.Option{
		{client.WithFleet(f), client.WithBreakerStore(open)},
		{client.WithBreakerStore(open), client.WithFleet(f)},
		{client.WithFleet(f), client.WithResilience(rc)},
		{client.WithResilience(rc), client.WithFleet(f)},
	} {
		c := newReplica(t, u, o...)
		var ce *transport.CircuitOpenError
		if _, err := get(c, u); !errors.As(err, &ce) || !ce.Shared {
			t.Fatalf("options %d: the explicit store is not used: %v", i, err)
		}
	}
	// The fleet's own (empty) store: requests go through.
	c := newReplica(t, u, client.WithFleet(f))
	if code, err := get(c, u); err != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("%d %v", code, err)
	}
	if hits.Load() != 1 {
		t.Fatalf("server saw %d", hits.Load())
	}
	// A layer turned off does not use its fleet store.
	c = newReplica(t, u, client.WithFleet(&memFleet{br: open}), client.WithoutBreaker())
	if code, err := get(c, u); err != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("WithFleet + WithoutBreaker: %d %v", code, err)
	}
}

func TestFleetOptionsValidation(t *testing.T) {
	rc := transport.StandardPreset()
	rc.DisableBreaker, rc.DisableThrottle = true, true
	var nilFleet *memFleet
	cases := []struct {
		opts   []client.Option
		option string
		reason string
	}{
		{[]client.Option{client.WithBreakerStore(nil)}, "WithBreakerStore", "nil"},
		{[]client.Option{client.WithBreakerStore((*memBreakers)(nil))}, "WithBreakerStore", "nil"},
		{[]client.Option{client.WithSharedQuota(nil)}, "WithSharedQuota", "nil"},
		{[]client.Option{client.WithSharedQuota((*memQuota)(nil))}, "WithSharedQuota", "nil"},
		{[]client.Option{client.WithCooldownStore(nil)}, "WithCooldownStore", "nil"},
		{[]client.Option{client.WithCooldownStore((*transport.Cooldowns)(nil))}, "WithCooldownStore", "nil"},
		{[]client.Option{client.WithFleet(nil)}, "WithFleet", "nil"},
		{[]client.Option{client.WithFleet(nilFleet)}, "WithFleet", "nil"},
		{[]client.Option{client.WithFleet(&memFleet{quota: (*memQuota)(nil)})}, "WithFleet", "shares no store"},
		{[]client.Option{client.WithoutBreaker(), client.WithBreakerStore(&memBreakers{})}, "WithBreakerStore", "WithoutBreaker"},
		{[]client.Option{client.WithBreakerStore(&memBreakers{}), client.WithResilience(rc)}, "WithBreakerStore", "WithResilience (DisableBreaker)"},
		{[]client.Option{client.WithSharedQuota(&memQuota{}), client.WithoutThrottle()}, "WithSharedQuota", "WithoutThrottle"},
		{[]client.Option{client.WithResilience(rc), client.WithSharedQuota(&memQuota{})}, "WithSharedQuota", "WithResilience (DisableThrottle)"},
	}
	for i, tc := range cases {
		_, err := client.New(tc.opts...)
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.option || !strings.Contains(ce.Error(), tc.reason) {
			t.Errorf("case %d: err = %v, want a ConfigError naming %s and %q", i, err, tc.option, tc.reason)
		}
	}
	c, err := client.New(client.WithFleet(&memFleet{br: &memBreakers{}}), client.WithoutBreaker(), client.WithoutThrottle())
	if err != nil {
		t.Fatalf("WithFleet with its layers off: %v", err)
	}
	c.Close()
}
