package fleet

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/transport"
)

// patientTimeout is the store Timeout the test helpers give when a test
// sets none: while Redis is up no call of a store times out however
// loaded the machine is (a timed-out call marks Redis down, and later
// assertions would then test the degraded policy instead). A killed Redis
// refuses at once; tests of a hanging one set a short Timeout after their
// warm-up calls (shortTimeout).
const patientTimeout = time.Minute

// shortTimeout makes h's calls time out after d from now on: for a test
// of a paused Redis, after its calls while Redis is up have ended.
func shortTimeout(h *health, d time.Duration) { h.timeout = d }

func newCooldowns(t *testing.T, srv *redistest.Server, opts CooldownOptions) *CooldownStore {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = patientTimeout
	}
	s, err := NewCooldownStore(srv.Client(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCooldownSetByOneReplicaStopsAnother: replica A's retry layer gets a
// 429 with Retry-After; replica B, another stack on its own store and
// Redis client, does not send to that host at all.
func TestCooldownSetByOneReplicaStopsAnother(t *testing.T) {
	srv := redistest.Start(t)
	var hits atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer api.Close()

	replica := func() (http.RoundTripper, *CooldownStore) {
		st := newCooldowns(t, srv, CooldownOptions{})
		rt, err := transport.NewRetry(api.Client().Transport, transport.RetryConfig{MaxAttempts: 1, Cooldowns: st})
		if err != nil {
			t.Fatal(err)
		}
		return rt, st
	}
	a, _ := replica()
	b, storeB := replica()

	req, _ := http.NewRequest("GET", api.URL+"/v1/x", nil)
	aStart := time.Now()
	resp, err := a.RoundTrip(req)
	aEnd := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || hits.Load() != 1 {
		t.Fatalf("replica A: %d, hits %d", resp.StatusCode, hits.Load())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, "GET", api.URL+"/v1/y", nil)
	bStart := time.Now()
	resp, err = b.RoundTrip(req)
	bRead := time.Since(bStart)
	if resp != nil {
		resp.Body.Close()
	}
	if !errors.Is(err, transport.ErrRateLimited) {
		t.Fatalf("replica B: %v", err)
	}
	if hits.Load() != 1 {
		t.Fatalf("replica B sent: hits %d", hits.Load())
	}
	// A's cooldown ends 30 s (Retry-After) after A got the 429, so within
	// [aStart+30s, aEnd+30s] (plus a ms of rounding up); the bounds are the
	// measured times, not the machine's speed.
	lo, hi := aStart.Add(30*time.Second), aEnd.Add(30*time.Second+time.Millisecond)
	u, _ := url.Parse(api.URL)
	ps := time.Now()
	pttl, err := srv.Client().PTTL(context.Background(), DefaultPrefix+"cooldown:"+transport.HostKey(u)).Result()
	pe := time.Now()
	if err != nil || pttl <= 0 || pe.Add(pttl+time.Millisecond).Before(lo) || ps.Add(pttl-time.Millisecond).After(hi) {
		t.Fatalf("PTTL %v (between %v and %v), %v; want the key to end within [%v, %v]", pttl, ps, pe, err, lo, hi)
	}
	// B read the key during its round trip: its end is Redis's, less at
	// most the read's latency (and a ms of rounding).
	if until := storeB.CooldownUntil(transport.HostKey(u)); until.Before(lo.Add(-bRead-time.Millisecond)) || until.After(hi) {
		t.Fatalf("B's cooldown ends %v, want within [%v, %v]", until, lo.Add(-bRead-time.Millisecond), hi)
	}
}

// settleCooldowns waits for s's background refreshes to end.
func settleCooldowns(t *testing.T, s *CooldownStore) {
	t.Helper()
	eventually(t, "background cooldown refreshes ended", func() bool { return s.inflight.Load() == 0 })
}

// patientClient is a client for srv whose calls wait as long as a slow
// machine needs (a minute): for tests where Redis is up throughout, so
// that no outcome depends on how fast the machine answers.
func patientClient(t testing.TB, srv *redistest.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:                  srv.Addr(),
		DialTimeout:           time.Minute,
		ReadTimeout:           time.Minute,
		WriteTimeout:          time.Minute,
		MaxRetries:            -1,
		ContextTimeoutEnabled: true,
		PoolTimeout:           patientTimeout / 2, // below the stores' Timeout
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestCooldownStoreCache: reads are served from the local cache for
// RefreshInterval (one Redis call for many reads), and a fresh cache sees
// another replica's cooldown on its next read. Nothing depends on the
// machine's speed: Redis calls may take up to a minute, and the end a
// reader sees is checked against bounds made of the measured durations
// of the write and of the read.
func TestCooldownStoreCache(t *testing.T) {
	srv := redistest.Start(t)
	store := func(opts CooldownOptions) *CooldownStore {
		opts.Timeout = time.Minute
		s, err := NewCooldownStore(patientClient(t, srv), opts)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := store(CooldownOptions{})
	cached := store(CooldownOptions{RefreshInterval: time.Hour})
	fresh := store(CooldownOptions{RefreshInterval: time.Nanosecond})

	for range 1000 {
		if !cached.CooldownUntil("api.example.com").IsZero() {
			t.Fatal("cooldown before any was set")
		}
	}
	if got := cached.Stats().RedisCalls; got != 1 {
		t.Fatalf("1000 cached reads made %d Redis calls, want 1", got)
	}
	if !fresh.CooldownUntil("api.example.com").IsZero() {
		t.Fatal("cooldown before any was set")
	}

	ws := time.Now()
	until := ws.Add(10 * time.Second)
	a.SetCooldown("api.example.com", until)
	write := time.Since(ws)
	if got := a.CooldownUntil("api.example.com"); got.Before(until) {
		t.Fatalf("writer's own view %v < %v", got, until)
	}
	// A refresh runs in the background: the first read after the write
	// may still answer from the cache, the next ones see it. Redis's end
	// is at least until (the write rounds up) and at most the write's
	// duration later; the reader turns the TTL into an end on its clock,
	// at most the read's duration earlier (1 ms each for Redis's
	// resolution).
	rs := time.Now()
	fresh.CooldownUntil("api.example.com")
	settleCooldowns(t, fresh)
	read := time.Since(rs)
	lo, hi := until.Add(-read-time.Millisecond), until.Add(write+time.Millisecond)
	if got := fresh.CooldownUntil("api.example.com"); got.Before(lo) || got.After(hi) {
		t.Fatalf("fresh reader sees %v, want within [%v, %v]", got, lo, hi)
	}
	if s := fresh.Stats(); s.RedisErrors != 0 || s.Degraded {
		t.Fatalf("fresh reader: %+v", s)
	}
	if !cached.CooldownUntil("api.example.com").IsZero() {
		t.Fatal("cached reader refreshed inside its interval")
	}
	// Another host is read on first use.
	a.SetCooldown("other.example.com", until)
	if cached.CooldownUntil("other.example.com").IsZero() {
		t.Fatal("first read of a host did not go to Redis")
	}

	// The later end wins, whoever writes it: the key still ends at until
	// or later (as read, up to the read's duration and Redis's ms), not
	// at the shorter end.
	fresh.SetCooldown("api.example.com", time.Now().Add(time.Second))
	pttl, err := srv.Client().PTTL(context.Background(), DefaultPrefix+"cooldown:api.example.com").Result()
	pe := time.Now()
	if err != nil || pe.Add(pttl+time.Millisecond).Before(until) {
		t.Fatalf("shorter cooldown shortened the key: PTTL %v at %v (ends before %v), %v", pttl, pe, until, err)
	}
	// A cooldown already over writes nothing.
	a.SetCooldown("past.example.com", time.Now().Add(-time.Second))
	if n, _ := srv.Client().Exists(context.Background(), DefaultPrefix+"cooldown:past.example.com").Result(); n != 0 {
		t.Fatal("ended cooldown written")
	}
}

func TestCooldownStoreOutageFallsBackLocalAndRecovers(t *testing.T) {
	srv := redistest.Start(t)
	mp, degraded := meter(t)
	opts := CooldownOptions{RefreshInterval: time.Nanosecond, ProbeInterval: 50 * time.Millisecond, MeterProvider: mp}
	a := newCooldowns(t, srv, opts)
	b := newCooldowns(t, srv, opts)

	before := time.Now().Add(time.Minute)
	a.SetCooldown("before.example.com", before)
	if b.CooldownUntil("before.example.com").IsZero() {
		t.Fatal("not shared before the outage")
	}

	srv.Kill()
	during := time.Now().Add(time.Minute)
	noHang(t, "SetCooldown while Redis is down", func() { a.SetCooldown("during.example.com", during) })
	noHang(t, "CooldownUntil while Redis is down", func() {
		if got := a.CooldownUntil("during.example.com"); got.Before(during) {
			t.Errorf("local cooldown lost while down: %v", got)
		}
		// Fail open: what B cached still applies, the rest is unknown.
		if b.CooldownUntil("before.example.com").IsZero() {
			t.Error("cached cooldown lost while down")
		}
		if !b.CooldownUntil("during.example.com").IsZero() {
			t.Error("B saw a cooldown Redis never got")
		}
	})
	if !a.Stats().Degraded || !b.Stats().Degraded || degraded("cooldown") != 2 {
		t.Fatalf("degraded: %+v %+v metric %d", a.Stats(), b.Stats(), degraded("cooldown"))
	}

	srv.Restart()
	// A's next refresh writes its outage cooldown back; B then sees it.
	eventually(t, "A back on Redis", func() bool {
		a.CooldownUntil("during.example.com")
		return !a.Stats().Degraded
	})
	eventually(t, "B sees A's outage cooldown", func() bool {
		return !b.CooldownUntil("during.example.com").IsZero()
	})
	// The key A wrote back ends at during (plus the write's latency); B's
	// cache has it less at most the latency of the read that got it.
	// That read ran in the background: read once more, measured, which
	// can only keep or move B's end later (or to Redis's end).
	settleCooldowns(t, b)
	e := b.hosts.get("during.example.com", sysClock.Mono(time.Now()))
	rs := time.Now()
	b.keys.read(b.key("during.example.com"), &e.untilEntry, rs)
	read := time.Since(rs)
	if got := b.CooldownUntil("during.example.com"); got.Before(during.Add(-read - time.Millisecond)) {
		t.Fatalf("B sees %v, want no earlier than %v", got, during.Add(-read-time.Millisecond))
	}
	if degraded("cooldown") != 0 {
		t.Fatalf("metric %d after recovery", degraded("cooldown"))
	}
}

func TestCooldownStoreFailClosed(t *testing.T) {
	srv := redistest.Start(t)
	s := newCooldowns(t, srv, CooldownOptions{Policy: FailClosed, RefreshInterval: time.Nanosecond, ProbeInterval: time.Hour})
	if !s.CooldownUntil("api.example.com").IsZero() {
		t.Fatal("cooldown while up")
	}
	srv.Kill()
	s.CooldownUntil("api.example.com") // its background refresh fails, marks down
	settleCooldowns(t, s)
	if got := s.CooldownUntil("api.example.com"); time.Until(got) < 30*time.Minute {
		t.Fatalf("fail closed: cooldown until %v, want the next probe (an hour)", got)
	}
	if got := s.Stats(); got.RedisCalls != 2 || !got.Degraded {
		t.Fatalf("stats %+v", got)
	}
}

func TestCooldownStoreTimeoutWhenRedisHangs(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client()
	s, err := NewCooldownStore(c, CooldownOptions{Timeout: patientTimeout, RefreshInterval: time.Nanosecond, ProbeInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// The first read (and its dial) with time to spare, then a short
	// Timeout for the calls on the paused Redis.
	s.CooldownUntil("api.example.com")
	settleCooldowns(t, s)
	if s.Stats().Degraded {
		t.Fatal("degraded before the pause")
	}
	shortTimeout(s.h, 100*time.Millisecond)
	srv.Pause()
	defer srv.Resume()
	until := time.Now().Add(time.Minute)
	noHang(t, "SetCooldown on a paused Redis", func() { s.SetCooldown("api.example.com", until) })
	noHang(t, "CooldownUntil on a paused Redis", func() {
		if got := s.CooldownUntil("api.example.com"); got.Before(until) {
			t.Errorf("local cooldown lost: %v", got)
		}
	})
	if got := s.Stats(); got.RedisErrors != 1 || !got.Degraded {
		t.Fatalf("stats %+v", got)
	}
}

func TestCooldownStoreMaxHosts(t *testing.T) {
	srv := redistest.Start(t)
	s := newCooldowns(t, srv, CooldownOptions{MaxHosts: 4})
	for i := range 20 {
		s.CooldownUntil(string(rune('a'+i)) + ".example.com")
	}
	if n := s.hosts.len(); n > 4 {
		t.Fatalf("%d hosts cached, max 4", n)
	}
}

func TestNewCooldownStoreConfig(t *testing.T) {
	srv := redistest.Start(t)
	for _, tc := range []struct {
		opts   CooldownOptions
		option string
	}{
		{CooldownOptions{Timeout: -1}, "Timeout"},
		{CooldownOptions{RefreshInterval: -1}, "RefreshInterval"},
		{CooldownOptions{MaxHosts: -1}, "MaxHosts"},
		{CooldownOptions{Policy: 7}, "Policy"},
	} {
		_, err := NewCooldownStore(srv.Client(), tc.opts)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.option {
			t.Errorf("%+v: %v", tc.opts, err)
		}
	}
}

// TestCooldownStoreRefreshInBackground: once a host is cached, a refresh
// never holds up the request that triggers it: with Redis paused, the
// read returns the cached end while the refresh is still waiting on Redis.
func TestCooldownStoreRefreshInBackground(t *testing.T) {
	srv := redistest.Start(t)
	s := newCooldowns(t, srv, CooldownOptions{RefreshInterval: time.Nanosecond, Timeout: 5 * time.Second})
	until := time.Now().Add(time.Minute)
	s.SetCooldown("api.example.com", until)
	settleCooldowns(t, s)
	srv.Pause()
	defer srv.Resume()
	if got := s.CooldownUntil("api.example.com"); got.Before(until) {
		t.Fatalf("cached end %v, want %v", got, until)
	}
	if n := s.inflight.Load(); n != 1 {
		t.Fatalf("%d refreshes running after the read returned, want 1 (still waiting on the paused Redis)", n)
	}
	srv.Resume()
	settleCooldowns(t, s)
	if s.Stats().Degraded {
		t.Fatal("the refresh failed although Redis came back within Timeout")
	}
}

// TestCooldownStoreConcurrentFirstReads: concurrent first requests to a
// host all wait for the one first read of Redis, so none is let through
// while the fleet has the host in cooldown.
func TestCooldownStoreConcurrentFirstReads(t *testing.T) {
	srv := redistest.Start(t)
	a := newCooldowns(t, srv, CooldownOptions{})
	until := time.Now().Add(time.Minute)
	a.SetCooldown("api.example.com", until)

	misses := 0
	for range 20 {
		b := newCooldowns(t, srv, CooldownOptions{Timeout: 2 * time.Second}) // a slow machine must not turn the first read into an outage
		var zero atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 32 {
			wg.Go(func() {
				<-start
				if b.CooldownUntil("api.example.com").IsZero() {
					zero.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		misses += int(zero.Load())
	}
	if misses > 0 {
		t.Errorf("%d of 640 first requests (20 fresh replicas x 32 concurrent) saw no cooldown while the fleet had one", misses)
	}
}

// TestCooldownStoreFailClosedProbeAnswers: while Redis is marked down, the
// request that makes the probe waits for it, so once Redis is back that
// request gets Redis's answer instead of a cooldown until the next probe.
func TestCooldownStoreFailClosedProbeAnswers(t *testing.T) {
	srv := redistest.Start(t)
	// A patient Timeout (newCooldowns): the probe dials a new connection
	// to the restarted Redis, however long that takes on a loaded machine
	// (a killed Redis still refuses at once).
	s := newCooldowns(t, srv, CooldownOptions{Policy: FailClosed, RefreshInterval: time.Nanosecond, ProbeInterval: 300 * time.Millisecond})
	s.CooldownUntil("api.example.com")
	srv.Kill()
	s.CooldownUntil("api.example.com")
	settleCooldowns(t, s)
	if !s.Stats().Degraded {
		t.Fatal("not degraded")
	}
	srv.Restart()
	time.Sleep(350 * time.Millisecond) // the probe is due; Redis is up
	got := s.CooldownUntil("api.example.com")
	settleCooldowns(t, s)
	// Redis holds no cooldown for the host: its answer is none at all,
	// where the policy's would be a cooldown until the next probe.
	if !got.IsZero() {
		t.Errorf("probing request refused/held until %v although Redis is up (degraded now: %v)", got, s.Stats().Degraded)
	}
}

// delayHook delays every Redis command by the current delay.
type delayHook struct{ d *atomic.Int64 }

func (delayHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h delayHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		time.Sleep(time.Duration(h.d.Load()))
		return next(ctx, cmd)
	}
}
func (delayHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestCooldownStoreReadLatencyDoesNotExtend: a slow read makes the key's
// end look earlier than what the cache already has; that must not be
// "written back", which would push the fleet's cooldown later than anyone
// set it (and compound across replicas).
func TestCooldownStoreReadLatencyDoesNotExtend(t *testing.T) {
	srv := redistest.Start(t)
	setter := newCooldowns(t, srv, CooldownOptions{})
	until := time.Now().Add(time.Minute)
	setter.SetCooldown("api.example.com", until)
	// keyEnd bounds the key's end on this clock: Redis answered between
	// the call and the answer.
	// (a ms of rounding either way). The key must exist: a missing one
	// would make the bounds follow the clock.
	keyEnd := func() (lo, hi time.Time) {
		t.Helper()
		start := time.Now()
		pttl, err := srv.Client().PTTL(context.Background(), DefaultPrefix+"cooldown:api.example.com").Result()
		if err != nil || pttl <= 0 {
			t.Fatalf("PTTL %v, %v", pttl, err)
		}
		return start.Add(pttl - time.Millisecond), time.Now().Add(pttl + time.Millisecond)
	}
	_, before := keyEnd()

	delay := new(atomic.Int64)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true, MaxRetries: -1,
		DialTimeout: patientTimeout, ReadTimeout: patientTimeout, WriteTimeout: patientTimeout, PoolTimeout: patientTimeout / 2})
	c.AddHook(delayHook{delay})
	t.Cleanup(func() { c.Close() })
	s, err := NewCooldownStore(c, CooldownOptions{RefreshInterval: time.Nanosecond, Timeout: patientTimeout})
	if err != nil {
		t.Fatal(err)
	}
	s.CooldownUntil("api.example.com") // a fast first read: the cache has the end
	delay.Store(int64(80 * time.Millisecond))
	s.CooldownUntil("api.example.com") // a slow refresh
	settleCooldowns(t, s)
	// The bounds are conservative (the earliest the end can be now, the
	// latest it could be before), so an unmoved key never looks later
	// however slow the calls were; without the fix the end moves by the
	// slow read's latency (at least the 80 ms delay).
	if after, _ := keyEnd(); after.After(before) {
		t.Fatalf("a slow read moved the shared end at least %v later", after.Sub(before))
	}
	if st := s.Stats(); st.RedisErrors != 0 || st.RedisCalls != 2 {
		t.Errorf("stats %+v, want 2 reads and no error", st)
	}
}

// TestCooldownStoreStalenessBoundAfterIdle: the staleness bound holds for
// a host this replica has not asked about for a while: a cooldown another
// replica wrote more than RefreshInterval + Timeout ago is honoured by the
// next request, not only by the ones after the background refresh it
// starts (the first request after an idle spell would otherwise be sent
// into a fleet-wide cooldown).
func TestCooldownStoreStalenessBoundAfterIdle(t *testing.T) {
	srv := redistest.Start(t)
	a := newCooldowns(t, srv, CooldownOptions{})
	b := newCooldowns(t, srv, CooldownOptions{})
	t0 := time.Now()
	if !b.CooldownUntilAt("api.example.com", t0).IsZero() {
		t.Fatal("cooldown before any was set")
	}
	until := time.Now().Add(time.Hour)
	a.SetCooldown("api.example.com", until)
	// B's next request comes (its clock reading) a second more than
	// RefreshInterval + Timeout after the write.
	later := time.Now().Add(b.refresh + b.h.timeout + time.Second)
	if got := b.CooldownUntilAt("api.example.com", later); got.Before(until.Add(-time.Second)) {
		t.Fatalf("B after an idle spell: cooldown until %v, want about %v", got, until)
	}
	settleCooldowns(t, b)
}
