package fleet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/transport"
)

func newBreakers(t *testing.T, srv *redistest.Server, opts BreakerOptions) *BreakerStore {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = patientTimeout
	}
	s, err := NewBreakerStore(srv.Client(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { settle(t, s) })
	return s
}

// settle waits until s has no background Redis call running.
func settle(t *testing.T, s *BreakerStore) {
	t.Helper()
	eventually(t, "background Redis calls ended", func() bool { return s.inflight.Load() == 0 })
}

// api is an HTTPS upstream that answers with the status in code (and the
// header name/value pairs given to newAPI) and counts the requests it
// gets.
type api struct {
	srv  *httptest.Server
	code atomic.Int32
	hits atomic.Int64
}

func newAPI(t *testing.T, code int, header ...string) *api {
	a := &api{}
	a.code.Store(int32(code))
	a.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		a.hits.Add(1)
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(int(a.code.Load()))
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *api) host() string {
	u, _ := url.Parse(a.srv.URL)
	return transport.HostKey(u)
}

// replicaClient is one replica's client: it trusts the test server's
// certificate, may dial loopback, and makes one attempt per call (so
// every call is one breaker outcome). The breaker opens after 3 failures
// in a row and stays open for openFor.
func replicaClient(t *testing.T, a *api, openFor time.Duration, more ...client.Option) *client.Client {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(a.srv.Certificate())
	rc := transport.StandardPreset()
	rc.Breaker.ConsecutiveFailures = 3
	rc.Breaker.OpenTimeout = openFor
	opts := append([]client.Option{
		client.WithOrigins(a.srv.URL),
		client.WithTLSConfig(&tls.Config{RootCAs: roots}),
		client.WithAllowedNetworks(netip.MustParsePrefix("127.0.0.0/8")),
		client.WithResilience(rc),
		client.WithMaxAttempts(1),
		client.WithTimeout(5 * time.Second),
	}, more...)
	c, err := client.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func call(c *client.Client, u string) error {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// trip sends through c until its own breaker opens (3 failures).
func trip(t *testing.T, c *client.Client, a *api) {
	t.Helper()
	for i := range 3 {
		if err := call(c, a.srv.URL); err != nil {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	var ce *transport.CircuitOpenError
	if err := call(c, a.srv.URL); !errors.As(err, &ce) || ce.Shared {
		t.Fatalf("own breaker not open: %v", err)
	}
}

// TestBreakerOpenOnOneReplicaFailsOthers: two client replicas, each with
// its own store and Redis client. Replica A's breaker opens; once the
// opening reached B (the store's staleness bound), B sends nothing until
// A's open end, then sends again.
func TestBreakerOpenOnOneReplicaFailsOthers(t *testing.T) {
	srv := redistest.Start(t)
	up := newAPI(t, http.StatusServiceUnavailable)
	opts := BreakerOptions{RefreshInterval: 10 * time.Millisecond}
	storeA, storeB := newBreakers(t, srv, opts), newBreakers(t, srv, opts)
	// Long enough that A's opening is still open when B first reads it on
	// a loaded machine (the race detector, both cores busy).
	const openFor = 6 * time.Second
	a := replicaClient(t, up, openFor, client.WithBreakerStore(storeA))
	b := replicaClient(t, up, openFor, client.WithBreakerStore(storeB))

	trip(t, a, up)
	sent := up.hits.Load()
	if sent != 3 {
		t.Fatalf("A sent %d", sent)
	}
	eventually(t, "B's store sees A's opening", func() bool { return storeB.OpenUntil(up.host()).After(time.Now()) })
	end := storeB.OpenUntil(up.host())
	pttl, err := srv.Client().PTTL(context.Background(), DefaultPrefix+"breaker:"+up.host()).Result()
	if err != nil || pttl <= 0 || pttl > openFor {
		t.Fatalf("key PTTL %v, %v; want within (0, %v]", pttl, err, openFor)
	}

	for i := 0; i == 0 || time.Now().Before(end.Add(-100*time.Millisecond)); i++ {
		err := call(b, up.srv.URL)
		if i > 0 && !time.Now().Before(end) {
			// A stalled machine delayed this call past the open end:
			// it may have been sent, and rightly. Only calls that
			// ended before the open end are checked.
			sent = up.hits.Load()
			break
		}
		var ce *transport.CircuitOpenError
		if !errors.As(err, &ce) || !ce.Shared || !errors.Is(err, client.ErrCircuitOpen) {
			t.Fatalf("B before A's open end: %v", err)
		}
		if got := up.hits.Load(); got != sent {
			t.Fatalf("B sent %d requests while A's breaker was open", got-sent)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// After the open end B sends again (the key has expired in Redis). B's
	// cached end may lie a read's latency past the one read above, so poll
	// (an open circuit sends nothing upstream).
	time.Sleep(time.Until(end) + 50*time.Millisecond)
	up.code.Store(http.StatusOK)
	for deadline := time.Now().Add(5 * time.Second); ; {
		err := call(b, up.srv.URL)
		if err == nil {
			break
		}
		if !errors.Is(err, client.ErrCircuitOpen) || time.Now().After(deadline) {
			t.Fatalf("B after A's open end: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := up.hits.Load(); got != sent+1 {
		t.Fatalf("upstream saw %d, want %d", got, sent+1)
	}
}

// TestBreakerStoreRedisOutage: Redis killed mid-test. Nothing hangs; each
// replica's own breaker still works; openings are not shared (fail open);
// after the restart A's outage opening is written back and B honours it.
func TestBreakerStoreRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	mp, degraded := meter(t)
	up := newAPI(t, http.StatusServiceUnavailable)
	opts := BreakerOptions{RefreshInterval: 10 * time.Millisecond, ProbeInterval: 50 * time.Millisecond, MeterProvider: mp}
	storeA, storeB := newBreakers(t, srv, opts), newBreakers(t, srv, opts)
	const openFor = 30 * time.Second
	a := replicaClient(t, up, openFor, client.WithBreakerStore(storeA))
	b := replicaClient(t, up, openFor, client.WithBreakerStore(storeB))
	// Both have read the host once while Redis is up.
	if err := call(b, up.srv.URL); err != nil {
		t.Fatal(err)
	}
	settle(t, storeB)

	srv.Kill()
	noHang(t, "replica A tripping while Redis is down", func() { trip(t, a, up) })
	settle(t, storeA)
	sent := up.hits.Load()
	noHang(t, "replica B while Redis is down", func() {
		// Fail open: B does not know of A's opening and sends.
		if err := call(b, up.srv.URL); err != nil {
			t.Errorf("B while Redis is down: %v", err)
		}
	})
	if got := up.hits.Load(); got != sent+1 {
		t.Fatalf("B sent %d", got-sent)
	}
	settle(t, storeB)
	if !storeA.Stats().Degraded || !storeB.Stats().Degraded || degraded("breaker") != 2 {
		t.Fatalf("degraded: %+v %+v metric %d", storeA.Stats(), storeB.Stats(), degraded("breaker"))
	}
	// A's own breaker kept working.
	var ce *transport.CircuitOpenError
	if err := call(a, up.srv.URL); !errors.As(err, &ce) {
		t.Fatalf("A while Redis is down: %v", err)
	}

	srv.Restart()
	eventually(t, "A writes its opening back", func() bool {
		storeA.OpenUntil(up.host())
		n, _ := srv.Client().Exists(context.Background(), DefaultPrefix+"breaker:"+up.host()).Result()
		return n == 1
	})
	eventually(t, "B sees A's outage opening", func() bool { return storeB.OpenUntil(up.host()).After(time.Now()) })
	sent = up.hits.Load()
	if err := call(b, up.srv.URL); !errors.As(err, &ce) || !ce.Shared {
		t.Fatalf("B after recovery: %v", err)
	}
	if up.hits.Load() != sent {
		t.Fatal("B sent after recovery")
	}
	settle(t, storeA)
	settle(t, storeB)
	if degraded("breaker") != 0 || storeA.Stats().Degraded || storeB.Stats().Degraded {
		t.Fatalf("metric %d after recovery", degraded("breaker"))
	}
}

// TestBreakerStoreCache: reads are served from the local cache (one Redis
// call for many reads inside RefreshInterval) and never wait for Redis.
func TestBreakerStoreCache(t *testing.T) {
	srv := redistest.Start(t)
	cached := newBreakers(t, srv, BreakerOptions{RefreshInterval: time.Hour})
	reads := func() {
		for range 1000 {
			if !cached.OpenUntil("api.example.com").IsZero() {
				t.Fatal("open before anything was set")
			}
		}
		settle(t, cached)
	}
	reads()
	// A refresh that failed (a PTTL past the 100 ms Timeout on a loaded
	// machine) leaves the entry stale, and a later read refreshes again,
	// one at a time: read again until one refresh has succeeded.
	for try := 0; try < 5 && cached.Stats().RedisCalls == cached.Stats().RedisErrors; try++ {
		reads()
	}
	if st := cached.Stats(); st.RedisCalls-st.RedisErrors != 1 || st.RedisCalls > 6 {
		t.Fatalf("cached reads made %d Redis calls (%d failed), want 1 that succeeded and no other but failed ones", st.RedisCalls, st.RedisErrors)
	}
	writer := newBreakers(t, srv, BreakerOptions{})
	until := time.Now().Add(10 * time.Second)
	writer.SetOpenUntil("api.example.com", until)
	if got := writer.OpenUntil("api.example.com"); !got.Equal(until) {
		t.Fatalf("writer's own view %v, want %v at once", got, until)
	}
	settle(t, writer)
	if cached.OpenUntil("api.example.com").After(time.Now()) {
		t.Fatal("cached reader refreshed inside its interval")
	}
	if got := cached.Stats().RedisCalls; got != 1 {
		t.Fatalf("%d Redis calls", got)
	}
}

// TestBreakerStoreKeepsLaterEnd: key TTL = until - now; a shorter end
// does not shorten it, whoever writes it; an ended one writes nothing.
func TestBreakerStoreKeepsLaterEnd(t *testing.T) {
	srv := redistest.Start(t)
	a := newBreakers(t, srv, BreakerOptions{})
	b := newBreakers(t, srv, BreakerOptions{RefreshInterval: time.Nanosecond})
	key := DefaultPrefix + "breaker:api.example.com"
	// keyEnd bounds the key's end on this clock: Redis answered the PTTL
	// between the call and the answer (a ms of rounding either way).
	keyEnd := func() (lo, hi time.Time) {
		t.Helper()
		start := time.Now()
		pttl, err := srv.Client().PTTL(context.Background(), key).Result()
		if err != nil || pttl <= 0 {
			t.Fatalf("PTTL %v, %v", pttl, err)
		}
		return start.Add(pttl - time.Millisecond), time.Now().Add(pttl + time.Millisecond)
	}
	// The key ends at until, plus at most the write's own duration (Redis
	// starts the TTL when the write arrives) and a ms of rounding up.
	ws := time.Now()
	until := ws.Add(20 * time.Second)
	a.SetOpenUntil("api.example.com", until)
	settle(t, a) // the write runs in the background
	write := time.Since(ws)
	if lo, hi := keyEnd(); hi.Before(until) || lo.After(until.Add(write+2*time.Millisecond)) {
		t.Fatalf("key ends within [%v, %v], want within [%v, %v]", lo, hi, until, until.Add(write+2*time.Millisecond))
	}
	bs := time.Now()
	b.SetOpenUntil("api.example.com", bs.Add(time.Second))
	settle(t, b)
	bWrite := time.Since(bs)
	if _, hi := keyEnd(); hi.Before(until) {
		t.Fatalf("a shorter end shortened the key: it ends by %v, before %v", hi, until)
	}
	// B's write returned the longer end: B's cache has it, less at most
	// the duration of B's write (Redis's remaining time, counted from
	// when B's write began) and a ms of rounding down.
	if got := b.OpenUntil("api.example.com"); got.Before(until.Add(-bWrite - time.Millisecond)) {
		t.Fatalf("B sees %v, want no earlier than %v", got, until.Add(-bWrite-time.Millisecond))
	}
	a.SetOpenUntil("past.example.com", time.Now().Add(-time.Second))
	settle(t, a)
	if n, _ := srv.Client().Exists(context.Background(), DefaultPrefix+"breaker:past.example.com").Result(); n != 0 {
		t.Fatal("an ended open state was written")
	}
	if got := a.Stats().RedisCalls; got != 1 {
		t.Fatalf("A made %d Redis calls, want 1 (the write)", got)
	}
}

// TestBreakerStoreNeverWaitsForRedis: on a paused Redis both methods
// return at once; the background calls end within Timeout and mark Redis
// down.
func TestBreakerStoreNeverWaitsForRedis(t *testing.T) {
	srv := redistest.Start(t)
	s := newBreakers(t, srv, BreakerOptions{RefreshInterval: time.Nanosecond, ProbeInterval: time.Hour})
	s.OpenUntil("api.example.com")
	settle(t, s)
	if s.Stats().Degraded {
		t.Fatal("degraded before the pause")
	}
	shortTimeout(s.h, 100*time.Millisecond)
	srv.Pause()
	defer srv.Resume()
	until := time.Now().Add(time.Minute)
	returned := make(chan struct{})
	go func() {
		s.SetOpenUntil("api.example.com", until)
		for range 100 {
			if got := s.OpenUntil("api.example.com"); !got.Equal(until) {
				t.Errorf("local open end lost: %v", got)
			}
		}
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("SetOpenUntil/OpenUntil waited for a paused Redis")
	}
	settle(t, s) // bounded by Timeout
	if got := s.Stats(); !got.Degraded || got.RedisErrors < 1 {
		t.Fatalf("stats %+v", got)
	}
}

func TestBreakerStoreMaxHosts(t *testing.T) {
	srv := redistest.Start(t)
	s := newBreakers(t, srv, BreakerOptions{MaxHosts: 4, RefreshInterval: time.Hour})
	for i := range 20 {
		s.OpenUntil(string(rune('a'+i)) + ".example.com")
	}
	settle(t, s)
	if n := s.hosts.len(); n > 4 {
		t.Fatalf("%d hosts cached, max 4", n)
	}
}

// OpenUntil, on the path of every request, allocates nothing while its
// entry is fresh.
func TestBreakerStoreOpenUntilNoAllocs(t *testing.T) {
	srv := redistest.Start(t)
	s := newBreakers(t, srv, BreakerOptions{RefreshInterval: time.Hour})
	s.SetOpenUntil("api.example.com", time.Now().Add(time.Hour))
	s.OpenUntil("api.example.com")
	settle(t, s)
	if n := testing.AllocsPerRun(1000, func() { s.OpenUntil("api.example.com") }); n != 0 {
		t.Fatalf("%v allocations per read", n)
	}
}

func TestNewBreakerStoreConfig(t *testing.T) {
	srv := redistest.Start(t)
	for _, tc := range []struct {
		opts   BreakerOptions
		option string
	}{
		{BreakerOptions{Timeout: -1}, "Timeout"},
		{BreakerOptions{ProbeInterval: -1}, "ProbeInterval"},
		{BreakerOptions{RefreshInterval: -1}, "RefreshInterval"},
		{BreakerOptions{MaxHosts: -1}, "MaxHosts"},
	} {
		_, err := NewBreakerStore(srv.Client(), tc.opts)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.option {
			t.Errorf("%+v: %v", tc.opts, err)
		}
	}
	if _, err := NewBreakerStore(nil, BreakerOptions{}); err == nil {
		t.Error("nil client accepted")
	}
}

// BenchmarkBreakerLayer measures the breaker layer's closed-state path
// over a stub transport, without a store and with the fleet store (served
// from its cache; one background Redis read per RefreshInterval).
//
//	cd fleet && go test -run '^$' -bench BreakerLayer -benchmem .
func BenchmarkBreakerLayer(b *testing.B) {
	resp := &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody}
	next := roundTripper(func(*http.Request) (*http.Response, error) { return resp, nil })
	for _, name := range []string{"local", "fleet"} {
		b.Run(name, func(b *testing.B) {
			var cfg transport.BreakerConfig
			var store *BreakerStore
			if name == "fleet" {
				srv := redistest.Start(b)
				var err error
				if store, err = NewBreakerStore(srv.Client(), BreakerOptions{}); err != nil {
					b.Fatal(err)
				}
				cfg.Store = store
			}
			rt, err := transport.NewBreaker(next, cfg)
			if err != nil {
				b.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/v1/items", nil)
			rt.RoundTrip(req)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rt.RoundTrip(req); err != nil {
					b.Fatal(err)
				}
			}
			if store != nil {
				b.ReportMetric(float64(store.Stats().RedisCalls), "redis-calls")
			}
		})
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
