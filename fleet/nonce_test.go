package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/signer"
)

var testSecret = []byte("a fleet test secret of 32+ bytes")

// replicaPair returns a signer and two verifiers ("replicas"), each on its
// own NonceStore and its own Redis client against srv.
func replicaPair(t *testing.T, srv *redistest.Server, opts NonceOptions) (*signer.Signer, [2]*signer.Verifier, [2]*NonceStore) {
	t.Helper()
	key, err := signer.NewHMACKey("client-1", testSecret)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.New(signer.Options{Keys: signer.StaticKey(key)})
	if err != nil {
		t.Fatal(err)
	}
	var vs [2]*signer.Verifier
	var stores [2]*NonceStore
	if opts.Timeout == 0 {
		opts.Timeout = patientTimeout
	}
	for i := range vs {
		st, err := NewNonceStore(srv.Client(), opts)
		if err != nil {
			t.Fatal(err)
		}
		v, err := signer.NewVerifier(signer.VerifierOptions{
			Keys: signer.StaticKey(key), Nonces: st, ErrorHandler: ErrorHandler,
		})
		if err != nil {
			t.Fatal(err)
		}
		vs[i], stores[i] = v, st
	}
	return s, vs, stores
}

// signed returns two copies of one signed request, as an attacker
// replaying it would send them.
func signed(t *testing.T, s *signer.Signer) (*http.Request, *http.Request) {
	t.Helper()
	req := httptest.NewRequest("GET", "https://api.example.com/v1/orders/7", nil)
	if err := s.Sign(context.Background(), req, time.Now()); err != nil {
		t.Fatal(err)
	}
	replay := httptest.NewRequest("GET", "https://api.example.com/v1/orders/7", nil)
	replay.Header = req.Header.Clone()
	return req, replay
}

func serve(v *signer.Verifier, req *http.Request) int {
	rec := httptest.NewRecorder()
	v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	})).ServeHTTP(rec, req)
	return rec.Code
}

func TestNonceAcceptedOnOneReplicaRejectedOnAnother(t *testing.T) {
	srv := redistest.Start(t)
	// Timeout 1s: each replica's first claim dials Redis, which can take
	// longer than the default 100 ms on a loaded machine; this test
	// asserts no Redis error, not the timeout.
	s, v, stores := replicaPair(t, srv, NonceOptions{Timeout: time.Second})

	req, replay := signed(t, s)
	if code := serve(v[0], req); code != http.StatusOK {
		t.Fatalf("replica A: %d", code)
	}
	if code := serve(v[1], replay); code != http.StatusUnauthorized {
		t.Fatalf("replay on replica B: %d, want 401", code)
	}
	// Verify gives the reason, the other way round.
	_, replay2 := signed(t, s)
	if _, err := v[1].Verify(replay2, time.Now()); err != nil {
		t.Fatalf("fresh signature on B: %v", err)
	}
	again := httptest.NewRequest("GET", "https://api.example.com/v1/orders/7", nil)
	again.Header = replay2.Header.Clone()
	if _, err := v[0].Verify(again, time.Now()); !errors.Is(err, signer.ErrReplay) {
		t.Fatalf("replay on A of B's nonce: %v", err)
	}

	// The key expires with the signature's window (default max age 60 s
	// plus 2 × 5 s skew), by Redis's clock.
	keys, err := srv.Client().Keys(context.Background(), DefaultPrefix+"nonce:*").Result()
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys %v, %v", keys, err)
	}
	for _, k := range keys {
		ttl, err := srv.Client().PTTL(context.Background(), k).Result()
		if err != nil || ttl <= 0 || ttl > signer.DefaultMaxAge+2*signer.DefaultClockSkew+time.Millisecond {
			t.Errorf("PTTL %s = %v, %v", k, ttl, err)
		}
	}
	for _, st := range stores {
		if st.Stats().Degraded || st.Stats().RedisErrors != 0 {
			t.Errorf("stats %+v", st.Stats())
		}
	}
}

// A nonce key lives to the end of its window plus the clock margin, so a
// replica whose clock runs up to the margin behind the claiming one still
// finds it while it accepts the signature.
func TestNonceStoreClockMargin(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	for _, tc := range []struct {
		margin time.Duration
		want   time.Duration // the key's life, for a 10 s window
	}{
		{0, 10*time.Second + DefaultNonceClockMargin},
		{30 * time.Second, 40 * time.Second},
		{-1, 10 * time.Second},
	} {
		st, err := NewNonceStore(srv.Client(), NonceOptions{Prefix: "m:", ClockMargin: tc.margin, Timeout: patientTimeout})
		if err != nil {
			t.Fatal(err)
		}
		nonce := "n" + tc.want.String()
		now := time.Now()
		if err := st.Claim(ctx, "k", nonce, now, now.Add(10*time.Second)); err != nil {
			t.Fatal(err)
		}
		pttl, err := srv.Client().PTTL(ctx, st.key("k", nonce)).Result()
		if err != nil || pttl > tc.want+time.Millisecond || pttl < tc.want-time.Second {
			t.Fatalf("margin %v: key life %v, %v; want about %v", tc.margin, pttl, err, tc.want)
		}
	}
}

func TestNonceStoreClaim(t *testing.T) {
	srv := redistest.Start(t)
	st, err := NewNonceStore(srv.Client(), NonceOptions{Prefix: "t:", Timeout: patientTimeout})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	until := now.Add(time.Minute)
	if err := st.Claim(ctx, "k1", "n", now, until); err != nil {
		t.Fatal(err)
	}
	if err := st.Claim(ctx, "k1", "n", now, until); !errors.Is(err, signer.ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	if err := st.Claim(ctx, "k2", "n", now, until); err != nil {
		t.Fatalf("same nonce, other key: %v", err)
	}
	// The separator keeps ("k", "1n") and ("k1", "n") apart.
	if err := st.Claim(ctx, "k", "1n", now, until); err != nil {
		t.Fatalf("other pair: %v", err)
	}
	// A nonce already outside its window is still checked.
	if err := st.Claim(ctx, "k1", "n", until.Add(time.Second), until); !errors.Is(err, signer.ErrReplay) {
		t.Fatalf("late replay: %v", err)
	}
	n, err := srv.Client().Keys(ctx, "t:nonce:*").Result()
	if err != nil || len(n) != 3 {
		t.Fatalf("keys: %v %v", n, err)
	}
	// The caller's cancellation is not an outage.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := st.Claim(cctx, "k1", "m", now, until); !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("cancelled: %v", err)
	}
	if st.Stats().Degraded {
		t.Fatal("cancellation marked Redis down")
	}
}

func TestNonceStoreFailClosedOnOutageAndRecovers(t *testing.T) {
	srv := redistest.Start(t)
	mp, degraded := meter(t)
	s, v, stores := replicaPair(t, srv, NonceOptions{ProbeInterval: 50 * time.Millisecond, MeterProvider: mp})

	req, _ := signed(t, s)
	if code := serve(v[0], req); code != http.StatusOK {
		t.Fatalf("before outage: %d", code)
	}

	srv.Kill()
	for i := range 3 {
		req, _ := signed(t, s)
		var code int
		noHang(t, "verify while Redis is down", func() { code = serve(v[0], req) })
		if code != http.StatusServiceUnavailable {
			t.Fatalf("request %d while down: %d, want 503", i, code)
		}
	}
	req, _ = signed(t, s)
	_, err := v[1].Verify(req, time.Now())
	var fe *Error
	if !errors.Is(err, ErrUnavailable) || !errors.As(err, &fe) || fe.Store != "nonce" || errors.Is(err, signer.ErrReplay) {
		t.Fatalf("verify while down: %v", err)
	}
	if !stores[0].Stats().Degraded || degraded("nonce") != 2 {
		t.Fatalf("degraded: stats %+v, metric %d", stores[0].Stats(), degraded("nonce"))
	}

	srv.Restart()
	eventually(t, "replica A accepts again", func() bool {
		req, _ := signed(t, s)
		return serve(v[0], req) == http.StatusOK
	})
	eventually(t, "replica B accepts again", func() bool {
		req, _ := signed(t, s)
		return serve(v[1], req) == http.StatusOK
	})
	// Shared again after recovery.
	req, replay := signed(t, s)
	if serve(v[1], req) != http.StatusOK || serve(v[0], replay) != http.StatusUnauthorized {
		t.Fatal("not shared after recovery")
	}
	if stores[0].Stats().Degraded || degraded("nonce") != 0 {
		t.Fatalf("still degraded: %+v, metric %d", stores[0].Stats(), degraded("nonce"))
	}
}

// TestNonceStoreMarkedDownSkipsRedis: after a failure, calls do not touch
// Redis until the probe interval has passed.
func TestNonceStoreMarkedDownSkipsRedis(t *testing.T) {
	srv := redistest.Start(t)
	st, err := NewNonceStore(srv.Client(), NonceOptions{ProbeInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	ctx := context.Background()
	for range 20 {
		if err := st.Claim(ctx, "k", time.Now().String(), time.Now(), time.Now().Add(time.Minute)); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("claim: %v", err)
		}
	}
	if got := st.Stats(); got.RedisCalls != 1 || got.RedisErrors != 1 || !got.Degraded {
		t.Fatalf("stats %+v, want one call", got)
	}
}

// TestNonceStoreTimeoutWhenRedisHangs: a Redis that accepts connections
// but answers nothing costs one Timeout, not a hang.
func TestNonceStoreTimeoutWhenRedisHangs(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client() // a new client: the two stores share its pool
	st, err := NewNonceStore(c, NonceOptions{Timeout: 100 * time.Millisecond, ProbeInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Warm the client's connection pool through a store with time to spare
	// (a loaded machine can take more than 100 ms to dial and answer), so
	// the claim below times out on its command, not on a dial.
	warm, err := NewNonceStore(c, NonceOptions{Timeout: patientTimeout})
	if err != nil {
		t.Fatal(err)
	}
	if err := warm.Claim(ctx, "k", "warm", time.Now(), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	srv.Pause()
	defer srv.Resume()
	noHang(t, "claim on a paused Redis", func() {
		err = st.Claim(ctx, "k", "n", time.Now(), time.Now().Add(time.Minute))
	})
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("claim on a paused Redis: %v", err)
	}
}

func TestNonceStoreFallBackLocal(t *testing.T) {
	srv := redistest.Start(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	s, v, stores := replicaPair(t, srv, NonceOptions{Policy: FallBackLocal, ProbeInterval: 50 * time.Millisecond})

	before, beforeReplay := signed(t, s)
	if serve(v[0], before) != http.StatusOK {
		t.Fatal("before outage")
	}
	srv.Kill()

	// A nonce this replica accepted before the outage is still refused
	// here (written through to the local store).
	if code := serve(v[0], beforeReplay); code != http.StatusUnauthorized {
		t.Fatalf("own pre-outage nonce replayed: %d", code)
	}
	// New requests are served, with a span event.
	req, replay := signed(t, s)
	ctx, span := tp.Tracer("t").Start(context.Background(), "verify")
	if code := serve(v[0], req.WithContext(ctx)); code != http.StatusOK {
		t.Fatalf("while down: %d", code)
	}
	span.End()
	if ev := rec.Ended()[0].Events(); len(ev) == 0 || ev[0].Name != EventDegraded {
		t.Fatalf("span events %v", ev)
	}
	// The documented limit: per replica only. B never saw the nonce.
	replayB := replay.Clone(context.Background())
	if code := serve(v[0], replay); code != http.StatusUnauthorized {
		t.Fatalf("replay on the same replica while down: %d", code)
	}
	if code := serve(v[1], replayB); code != http.StatusOK {
		t.Fatalf("replay on another replica while down: %d (documented as accepted)", code)
	}

	srv.Restart()
	eventually(t, "Redis used again", func() bool {
		req, _ := signed(t, s)
		serve(v[0], req)
		return !stores[0].Stats().Degraded
	})
	// After recovery: A still refuses the nonce it accepted locally
	// during the outage; fresh nonces are shared through Redis.
	stale := httptest.NewRequest("GET", "https://api.example.com/v1/orders/7", nil)
	stale.Header = req.Header.Clone()
	if code := serve(v[0], stale); code != http.StatusUnauthorized {
		t.Fatalf("outage nonce replayed on A after recovery: %d", code)
	}
	req, replay = signed(t, s)
	if serve(v[0], req) != http.StatusOK || serve(v[1], replay) != http.StatusUnauthorized {
		t.Fatal("not shared after recovery")
	}
}

func TestNewNonceStoreConfig(t *testing.T) {
	srv := redistest.Start(t)
	for _, tc := range []struct {
		opts   NonceOptions
		option string
	}{
		{NonceOptions{Timeout: -1}, "Timeout"},
		{NonceOptions{ProbeInterval: -1}, "ProbeInterval"},
		{NonceOptions{Policy: 9}, "Policy"},
	} {
		_, err := NewNonceStore(srv.Client(), tc.opts)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.option {
			t.Errorf("%+v: %v", tc.opts, err)
		}
	}
	var ce *ConfigError
	if _, err := NewNonceStore(nil, NonceOptions{}); !errors.As(err, &ce) || ce.Option != "client" {
		t.Errorf("nil client: %v", err)
	}
	plain := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer plain.Close()
	if _, err := NewNonceStore(plain, NonceOptions{}); !errors.As(err, &ce) || ce.Option != "client" {
		t.Errorf("client without ContextTimeoutEnabled: %v", err)
	}
	// A Ring drops a shard it finds down from its hash ring and sends the
	// shard's keys to another one (each replica on its own): a nonce
	// recorded on the lost shard is then claimed afresh, so the store
	// would accept a replay instead of failing closed.
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": srv.Addr()}, ContextTimeoutEnabled: true})
	defer ring.Close()
	if _, err := NewNonceStore(ring, NonceOptions{}); !errors.As(err, &ce) || ce.Option != "client" || !strings.Contains(ce.Reason, "Ring") {
		t.Errorf("Ring: %v", err)
	}
}

// replyDropper is a TCP proxy in front of Redis that, once, lets a command
// containing trigger through and then closes the client's connection
// instead of passing on Redis's reply: the command was applied, the client
// sees the connection drop (io.EOF) and go-redis sends it again.
type replyDropper struct {
	ln      net.Listener
	target  string
	trigger []byte
	fired   atomic.Bool
}

func newReplyDropper(t *testing.T, target, trigger string) *replyDropper {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &replyDropper{ln: ln, target: target, trigger: []byte(trigger)}
	t.Cleanup(func() { ln.Close() })
	go p.serve()
	return p
}

func (p *replyDropper) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.proxy(c)
	}
}

func (p *replyDropper) proxy(c net.Conn) {
	defer c.Close()
	r, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer r.Close()
	var armed atomic.Bool
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if !p.fired.Load() && bytes.Contains(buf[:n], p.trigger) {
					armed.Store(true)
				}
				if _, werr := r.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				r.Close()
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if armed.Load() && p.fired.CompareAndSwap(false, true) {
				return // the reply is dropped with the connection
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestNonceStoreClaimRetriedByClient: when the connection drops after
// Redis applied the claim's SET but before its reply arrived, go-redis
// sends the SET again (MaxRetries), and the retry finds the key its own
// first attempt wrote. That is this claim, not a replay: the genuine
// request must be accepted, and a real replay still refused.
func TestNonceStoreClaimRetriedByClient(t *testing.T) {
	srv := redistest.Start(t)
	p := newReplyDropper(t, srv.Addr(), "nonce:")
	rdb := redis.NewClient(&redis.Options{Addr: p.ln.Addr().String(), ContextTimeoutEnabled: true, PoolTimeout: time.Second})
	t.Cleanup(func() { rdb.Close() })
	st, err := NewNonceStore(rdb, NonceOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	until := now.Add(time.Minute)
	if err := st.Claim(ctx, "k1", "n", now, until); err != nil {
		t.Fatalf("first claim, its SET retried after a dropped reply: %v", err)
	}
	if !p.fired.Load() {
		t.Fatal("the proxy did not drop a reply")
	}
	if err := st.Claim(ctx, "k1", "n", now, until); !errors.Is(err, signer.ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	// Another store (another replica) is refused too.
	other, err := NewNonceStore(srv.Client(), NonceOptions{Timeout: patientTimeout})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Claim(ctx, "k1", "n", now, until); !errors.Is(err, signer.ErrReplay) {
		t.Fatalf("replay on another replica: %v", err)
	}
	if st.Stats().Degraded {
		t.Fatal("marked down")
	}
}

// A window as long as a time.Duration holds (the verifier allows MaxAge +
// 2×ClockSkew up to that) keeps its nonce for all of it: the key's life
// saturates instead of wrapping round to a few seconds (a replay once the
// key expired) or to a negative PX (a Redis error that marked Redis down
// and failed every claim).
func TestNonceStoreLongWindowKeepsKey(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	// A retention as long as a time.Duration holds: a store keeping
	// nonces as far ahead as any verifier window.
	st, err := NewNonceStore(srv.Client(), NonceOptions{Prefix: "l:", Timeout: patientTimeout, MaxRetention: math.MaxInt64})
	if err != nil {
		t.Fatal(err)
	}
	const year = 365 * 24 * time.Hour
	now := time.Now()
	for i, left := range []time.Duration{
		time.Duration(math.MaxInt64),                  // the margin pushes it past the top
		time.Duration(math.MaxInt64) - 3*time.Second,  // so does the margin
		time.Duration(math.MaxInt64) - 10*time.Second, // fits
	} {
		nonce := fmt.Sprint("n", i)
		if err := st.Claim(ctx, "k", nonce, now, now.Add(left)); err != nil {
			t.Fatalf("window %v: claim: %v", left, err)
		}
		pttl, err := srv.Client().PTTL(ctx, st.key("k", nonce)).Result()
		if err != nil || pttl < 290*year {
			t.Fatalf("window %v: key life %v, %v; want the whole window", left, pttl, err)
		}
		if err := st.Claim(ctx, "k", nonce, now, now.Add(left)); !errors.Is(err, signer.ErrReplay) {
			t.Fatalf("window %v: replay: %v", left, err)
		}
	}
	if st.Stats().Degraded {
		t.Fatal("a long window marked Redis down")
	}
}
