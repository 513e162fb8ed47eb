package tokens

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeSource hands out "tok-1", "tok-2", ... each valid for ttl, counting
// calls. Before answering it runs hook (if set) with the call's number and
// context; a hook error fails the call.
type fakeSource struct {
	ttl   time.Duration
	calls atomic.Int32
	mu    sync.Mutex
	hook  func(ctx context.Context, n int) error
}

func (s *fakeSource) Token(ctx context.Context) (Token, error) {
	n := int(s.calls.Add(1))
	s.mu.Lock()
	hook := s.hook
	s.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, n); err != nil {
			return Token{}, err
		}
	}
	var exp time.Time
	if s.ttl > 0 {
		exp = time.Now().Add(s.ttl)
	}
	return NewToken("tok-"+strconv.Itoa(n), "Bearer", exp), nil
}

func (s *fakeSource) setHook(h func(ctx context.Context, n int) error) {
	s.mu.Lock()
	s.hook = h
	s.mu.Unlock()
}

func mustCache(t *testing.T, src Source, opts ...CacheOption) *Cache {
	t.Helper()
	c, err := NewCache(src, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustToken(t *testing.T, c *Cache, want string) Token {
	t.Helper()
	tok, err := c.Token(context.Background())
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if tok.Value() != want {
		t.Fatalf("Token = %q, want %q", tok.Value(), want)
	}
	return tok
}

func TestCacheServesCachedToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{ttl: time.Hour}
		c := mustCache(t, src)
		for range 100 {
			mustToken(t, c, "tok-1")
		}
		time.Sleep(30 * time.Minute)
		mustToken(t, c, "tok-1")
		if n := src.calls.Load(); n != 1 {
			t.Fatalf("source called %d times, want 1", n)
		}
	})
}

func TestCacheEarlyRefreshServesCurrentTokenMeanwhile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{ttl: 10 * time.Minute}
		c := mustCache(t, src, WithEarlyRefresh(time.Minute), WithExpiryMargin(0), WithJitter(0))
		mustToken(t, c, "tok-1")

		release := make(chan struct{})
		src.setHook(func(ctx context.Context, n int) error { <-release; return nil })
		time.Sleep(8*time.Minute + 59*time.Second) // just before the window
		mustToken(t, c, "tok-1")
		synctest.Wait()
		if n := src.calls.Load(); n != 1 {
			t.Fatalf("refresh before the window: %d calls", n)
		}
		time.Sleep(2 * time.Second) // inside the window: 9m01s of 10m
		for range 50 {
			mustToken(t, c, "tok-1") // the refresh is blocked; callers are not
		}
		synctest.Wait()
		if n := src.calls.Load(); n != 2 {
			t.Fatalf("source called %d times, want 2 (one background refresh)", n)
		}
		close(release)
		synctest.Wait()
		mustToken(t, c, "tok-2")
		if n := src.calls.Load(); n != 2 {
			t.Fatalf("source called %d times, want 2", n)
		}
	})
}

func TestCacheJitterSpreadsRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// With jitter 1 the refresh starts anywhere in the window; over many
		// caches not all start at the window's beginning.
		const caches = 40
		started := 0
		for range caches {
			src := &fakeSource{ttl: 10 * time.Minute}
			c := mustCache(t, src, WithEarlyRefresh(4*time.Minute), WithExpiryMargin(0), WithJitter(1))
			mustToken(t, c, "tok-1")
			time.Sleep(6*time.Minute + time.Second) // 1 s into the 4-minute window
			mustToken(t, c, "tok-1")
			synctest.Wait()
			if src.calls.Load() == 2 {
				started++
			}
			time.Sleep(4 * time.Minute) // window over (token now expired), refresh must have run
			c.Token(context.Background())
			synctest.Wait()
			if src.calls.Load() < 2 {
				t.Fatal("no refresh by expiry")
			}
		}
		if started == caches {
			t.Fatalf("all %d caches refreshed at the start of the window: no jitter", caches)
		}
	})
}

func TestCacheSingleFlightAtExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{ttl: time.Minute}
		c := mustCache(t, src, WithEarlyRefresh(0), WithExpiryMargin(0))
		mustToken(t, c, "tok-1")
		time.Sleep(time.Minute)

		release := make(chan struct{})
		src.setHook(func(ctx context.Context, n int) error { <-release; return nil })
		const callers = 1000
		var wg sync.WaitGroup
		got := make([]string, callers)
		for i := range callers {
			wg.Go(func() {
				tok, err := c.Token(context.Background())
				if err != nil {
					t.Errorf("Token: %v", err)
				}
				got[i] = tok.Value()
			})
		}
		synctest.Wait() // all callers wait on the one refresh
		close(release)
		wg.Wait()
		if n := src.calls.Load(); n != 2 {
			t.Fatalf("source called %d times for %d callers at expiry, want 2 (initial + one refresh)", n, callers)
		}
		for i, v := range got {
			if v != "tok-2" {
				t.Fatalf("caller %d got %q", i, v)
			}
		}
	})
}

func TestCacheCancelledCallerDoesNotAbortRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{ttl: time.Hour}
		var refreshCtx context.Context
		release := make(chan struct{})
		src.setHook(func(ctx context.Context, n int) error {
			refreshCtx = ctx
			<-release
			return ctx.Err()
		})
		c := mustCache(t, src)

		ctx, cancel := context.WithCancel(context.Background())
		type result struct {
			tok Token
			err error
		}
		first := make(chan result, 1)
		go func() {
			tok, err := c.Token(ctx)
			first <- result{tok, err}
		}()
		second := make(chan result, 1)
		go func() {
			tok, err := c.Token(context.Background())
			second <- result{tok, err}
		}()
		synctest.Wait()
		cancel()
		r := <-first
		if !errors.Is(r.err, context.Canceled) {
			t.Fatalf("cancelled caller got %v, want context.Canceled", r.err)
		}
		synctest.Wait()
		if err := refreshCtx.Err(); err != nil {
			t.Fatalf("the shared refresh was cancelled with its caller: %v", err)
		}
		close(release)
		r = <-second
		if r.err != nil || r.tok.Value() != "tok-1" {
			t.Fatalf("other caller: %v %v", r.tok, r.err)
		}
		if n := src.calls.Load(); n != 1 {
			t.Fatalf("source called %d times, want 1", n)
		}
	})
}

func TestCacheRefreshContextKeepsValues(t *testing.T) {
	type key struct{}
	src := &fakeSource{ttl: time.Hour}
	var got any
	src.setHook(func(ctx context.Context, n int) error { got = ctx.Value(key{}); return nil })
	c := mustCache(t, src)
	ctx := context.WithValue(context.Background(), key{}, "trace-id")
	if _, err := c.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if got != "trace-id" {
		t.Fatalf("refresh context lost the caller's values: %v", got)
	}
}

func TestCacheRefreshTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{ttl: time.Hour}
		src.setHook(func(ctx context.Context, n int) error {
			if n == 1 {
				<-ctx.Done() // a token endpoint that never answers
				return ctx.Err()
			}
			return nil
		})
		c := mustCache(t, src, WithRefreshTimeout(5*time.Second), WithBackoff(time.Second, time.Second), WithJitter(0))
		start := time.Now()
		_, err := c.Token(context.Background())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d != 5*time.Second {
			t.Fatalf("refresh gave up after %v, want the 5s refresh timeout", d)
		}
		var re *RefreshError
		if !errors.As(err, &re) || re.Backoff || re.Failures != 1 {
			t.Fatalf("err = %#v, want a first-failure *RefreshError", err)
		}
		time.Sleep(time.Second)
		mustToken(t, c, "tok-2")
	})
}

var errDown = errors.New("token endpoint down")

func TestCacheBackoffWithoutValidToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{ttl: time.Hour}
		src.setHook(func(ctx context.Context, n int) error { return errDown })
		c := mustCache(t, src, WithBackoff(time.Second, 8*time.Second), WithJitter(0))

		_, err := c.Token(context.Background())
		var re *RefreshError
		if !errors.As(err, &re) || re.Backoff || !errors.Is(err, errDown) || errors.Is(err, ErrBackoff) {
			t.Fatalf("first failure: %v", err)
		}
		// Inside the backoff step: no token request, a typed error at once.
		for range 100 {
			_, err = c.Token(context.Background())
			if !errors.Is(err, ErrBackoff) || !errors.Is(err, errDown) {
				t.Fatalf("during backoff: %v", err)
			}
		}
		if n := src.calls.Load(); n != 1 {
			t.Fatalf("%d token requests during backoff, want 1", n)
		}
		// Steps double: 1s, 2s, 4s, 8s, 8s.
		for i, step := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second} {
			time.Sleep(step - time.Millisecond)
			if _, err := c.Token(context.Background()); !errors.Is(err, ErrBackoff) {
				t.Fatalf("step %d: refresh allowed before the step ended: %v", i, err)
			}
			time.Sleep(time.Millisecond)
			before := src.calls.Load()
			for range 10 {
				c.Token(context.Background())
			}
			if got := src.calls.Load() - before; got != 1 {
				t.Fatalf("step %d: %d token requests, want exactly 1", i, got)
			}
		}
		_, err = c.Token(context.Background())
		if !errors.As(err, &re) || re.Failures != 6 {
			t.Fatalf("failures = %+v", err)
		}
		src.setHook(nil)
		time.Sleep(8 * time.Second)
		mustToken(t, c, "tok-7")
		// Success resets the backoff.
		if c.Invalidate(mustToken(t, c, "tok-7")); true {
			mustToken(t, c, "tok-8")
		}
	})
}

func TestCacheOutageKeepsServingValidToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{ttl: 10 * time.Minute}
		var errs atomic.Int32
		c := mustCache(t, src, WithEarlyRefresh(5*time.Minute), WithExpiryMargin(0), WithJitter(0),
			WithBackoff(30*time.Second, 30*time.Second), WithErrorHandler(func(error) { errs.Add(1) }))
		mustToken(t, c, "tok-1")
		src.setHook(func(ctx context.Context, n int) error { return errDown })

		time.Sleep(5 * time.Minute) // start of the early-refresh window
		// 5 minutes of traffic, one call per second, while the endpoint is down.
		for range 300 {
			mustToken(t, c, "tok-1")
			synctest.Wait()
			time.Sleep(time.Second)
		}
		// One request when the window opened, then one per 30 s step.
		if n := src.calls.Load() - 1; n != 10 {
			t.Fatalf("%d token requests during a 5-minute outage with 30s backoff, want 10", n)
		}
		if errs.Load() != 10 {
			t.Fatalf("error handler saw %d failures, want 10", errs.Load())
		}
		// Now really expired: a typed error, still no stampede.
		_, err := c.Token(context.Background())
		if !errors.Is(err, ErrBackoff) && !errors.Is(err, errDown) {
			t.Fatalf("after expiry: %v", err)
		}
		var re *RefreshError
		if !errors.As(err, &re) {
			t.Fatalf("after expiry: %T", err)
		}
		src.setHook(nil)
		time.Sleep(30 * time.Second)
		mustToken(t, c, "tok-"+strconv.Itoa(int(src.calls.Load())+1))
	})
}

func TestCacheInvalidateDropsExactlyThatToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{ttl: time.Hour}
		c := mustCache(t, src)
		old := mustToken(t, c, "tok-1")
		if !c.Invalidate(old) {
			t.Fatal("Invalidate(current) = false")
		}
		cur := mustToken(t, c, "tok-2")
		if c.Invalidate(old) {
			t.Fatal("Invalidate(old) dropped the newer token")
		}
		mustToken(t, c, "tok-2")
		if c.Invalidate(NewToken("other", "Bearer", time.Time{})) {
			t.Fatal("Invalidate(unrelated) = true")
		}
		if !c.Invalidate(cur) || c.Invalidate(cur) {
			t.Fatal("second Invalidate of the same token must be a no-op")
		}
		mustToken(t, c, "tok-3")
	})
}

func TestCacheNonExpiringToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{} // ttl 0: no expiry
		c := mustCache(t, src)
		mustToken(t, c, "tok-1")
		time.Sleep(1000 * time.Hour)
		mustToken(t, c, "tok-1")
		if n := src.calls.Load(); n != 1 {
			t.Fatalf("%d calls", n)
		}
	})
}

func TestCacheExpiryMarginCappedByLifetime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A 2 s token with the default 10 s margin and 1 min early refresh
		// must still be served (margin capped at 0.2 s, window at 1 s).
		src := &fakeSource{ttl: 2 * time.Second}
		c := mustCache(t, src, WithJitter(0))
		mustToken(t, c, "tok-1")
		time.Sleep(700 * time.Millisecond)
		mustToken(t, c, "tok-1")
		synctest.Wait()
		if n := src.calls.Load(); n != 1 {
			t.Fatalf("refreshed too early: %d calls", n)
		}
		time.Sleep(200 * time.Millisecond) // 0.9 s: inside the window (0.8 s .. 1.8 s)
		mustToken(t, c, "tok-1")
		synctest.Wait()
		mustToken(t, c, "tok-2")
	})
}

// A token that has already expired when the source hands it over is a
// failed refresh (ErrNoToken) and backs off: otherwise every call would
// start a refresh of its own.
func TestCacheExpiredTokenIsAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		src := SourceFunc(func(context.Context) (Token, error) {
			calls.Add(1)
			return NewToken("old", "Bearer", time.Now().Add(-time.Second)), nil
		})
		c := mustCache(t, src, WithBackoff(time.Second, 8*time.Second), WithJitter(0))
		for range 20 {
			if _, err := c.Token(context.Background()); !errors.Is(err, ErrNoToken) {
				t.Fatalf("err = %v; want ErrNoToken", err)
			}
		}
		if n := calls.Load(); n != 1 {
			t.Fatalf("%d token requests for 20 calls; want 1, then the backoff", n)
		}
	})
}

func TestCacheZeroTokenIsAnError(t *testing.T) {
	c := mustCache(t, SourceFunc(func(context.Context) (Token, error) { return Token{}, nil }))
	if _, err := c.Token(context.Background()); !errors.Is(err, ErrNoToken) {
		t.Fatalf("err = %v", err)
	}
}

func TestCachePersistence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := NewMemoryStore()
		src := &fakeSource{ttl: time.Hour}
		c1 := mustCache(t, src, WithPersistence(store, "cached-token"))
		mustToken(t, c1, "tok-1")
		synctest.Wait() // the write follows the hand-over of the token
		raw, err := store.Get(context.Background(), "cached-token")
		if err != nil || len(raw) == 0 {
			t.Fatalf("token not persisted: %v", err)
		}

		// A "restarted" service reuses the still-valid token.
		c2 := mustCache(t, src, WithPersistence(store, "cached-token"))
		tok := mustToken(t, c2, "tok-1")
		if n := src.calls.Load(); n != 1 {
			t.Fatalf("restart made %d token requests, want 0 more", n-1)
		}
		if tok.Type() != "Bearer" || tok.Expiry().IsZero() {
			t.Fatalf("persisted token lost type/expiry: %#v", tok)
		}
		// Invalidating it does not bring it back from the store.
		c2.Invalidate(tok)
		mustToken(t, c2, "tok-2")

		// An expired persisted token is not used.
		time.Sleep(2 * time.Hour)
		c3 := mustCache(t, src, WithPersistence(store, "cached-token"))
		mustToken(t, c3, "tok-3")
		synctest.Wait()

		// A corrupt entry is reported and ignored.
		store.Set(context.Background(), "cached-token", []byte("{not json "+secretValue))
		var reported error
		c4 := mustCache(t, src, WithPersistence(store, "cached-token"), WithErrorHandler(func(err error) { reported = err }))
		mustToken(t, c4, "tok-4")
		if reported == nil {
			t.Fatal("corrupt persisted token not reported")
		}
		if containsSecret(reported.Error()) {
			t.Fatalf("error leaks the stored bytes: %v", reported)
		}
	})
}

func TestCachePersistenceWriteFailureDoesNotFailRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var reported error
		store := failingStore{err: &StoreError{Backend: "test", Op: "set", Key: "k", Err: ErrUnavailable}}
		c := mustCache(t, &fakeSource{ttl: time.Hour}, WithPersistence(store, "k"), WithErrorHandler(func(err error) { reported = err }))
		mustToken(t, c, "tok-1")
		synctest.Wait() // the write runs after the waiters have their token
		if !errors.Is(reported, ErrUnavailable) {
			t.Fatalf("write failure not reported: %v", reported)
		}
	})
}

func containsSecret(s string) bool { return len(s) > 0 && stringsContains(s, secretValue) }

func stringsContains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

type failingStore struct{ err error }

func (f failingStore) Get(context.Context, string) ([]byte, error) {
	return nil, &StoreError{Backend: "test", Op: "get", Err: ErrNotFound}
}
func (f failingStore) Set(context.Context, string, []byte) error { return f.err }
func (f failingStore) Delete(context.Context, string) error      { return f.err }

func TestNewCacheConfigErrors(t *testing.T) {
	src := &fakeSource{}
	cases := []struct {
		field string
		opts  []CacheOption
		src   Source
	}{
		{"Source", nil, nil},
		{"WithEarlyRefresh", []CacheOption{WithEarlyRefresh(-1)}, src},
		{"WithExpiryMargin", []CacheOption{WithExpiryMargin(-1)}, src},
		{"WithJitter", []CacheOption{WithJitter(1.5)}, src},
		{"WithJitter", []CacheOption{WithJitter(-0.1)}, src},
		{"WithRefreshTimeout", []CacheOption{WithRefreshTimeout(0)}, src},
		{"WithBackoff", []CacheOption{WithBackoff(0, time.Second)}, src},
		{"WithBackoff", []CacheOption{WithBackoff(2*time.Second, time.Second)}, src},
		{"WithPersistence", []CacheOption{WithPersistence(nil, "k")}, src},
		{"WithPersistence", []CacheOption{WithPersistence(NewMemoryStore(), "bad key")}, src},
	}
	for _, tc := range cases {
		_, err := NewCache(tc.src, tc.opts...)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.field {
			t.Errorf("%s: err = %v", tc.field, err)
		}
	}
}

// TestCacheHotPathAllocs asserts the cached-token path does not allocate.
func TestCacheHotPathAllocs(t *testing.T) {
	c := mustCache(t, &fakeSource{ttl: time.Hour})
	ctx := context.Background()
	mustToken(t, c, "tok-1")
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := c.Token(ctx); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("cached Token allocates %v times per call", n)
	}
}

func BenchmarkCacheToken(b *testing.B) {
	c, _ := NewCache(&fakeSource{ttl: time.Hour})
	ctx := context.Background()
	if _, err := c.Token(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCacheTokenAt: the auth layer's fast path, with the attempt's
// clock reading given (no clock read in the Cache).
func BenchmarkCacheTokenAt(b *testing.B) {
	c, _ := NewCache(&fakeSource{ttl: time.Hour})
	ctx := context.Background()
	if _, err := c.Token(ctx); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.CachedTokenAt(ctx, now); !ok {
			b.Fatal("not cached")
		}
	}
}

func BenchmarkCacheTokenParallel(b *testing.B) {
	c, _ := NewCache(&fakeSource{ttl: time.Hour})
	ctx := context.Background()
	if _, err := c.Token(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Token(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// CachedToken answers from the cache only: false with nothing cached or an
// expired token (Token would fetch), the token otherwise; in the
// early-refresh window it starts the one background refresh, as Token does.
func TestCacheCachedToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{ttl: 10 * time.Minute}
		c := mustCache(t, src, WithEarlyRefresh(time.Minute), WithExpiryMargin(0), WithJitter(0))
		if _, ok := c.CachedToken(context.Background()); ok {
			t.Fatal("CachedToken answered with nothing cached")
		}
		if n := src.calls.Load(); n != 0 {
			t.Fatalf("CachedToken called the source (%d calls)", n)
		}
		mustToken(t, c, "tok-1")
		if tok, ok := c.CachedToken(context.Background()); !ok || tok.Value() != "tok-1" {
			t.Fatalf("CachedToken = %q, %v; want tok-1", tok.Value(), ok)
		}
		time.Sleep(9*time.Minute + time.Second) // inside the early-refresh window
		if tok, ok := c.CachedToken(context.Background()); !ok || tok.Value() != "tok-1" {
			t.Fatalf("in the window: CachedToken = %q, %v; want tok-1", tok.Value(), ok)
		}
		synctest.Wait()
		if n := src.calls.Load(); n != 2 {
			t.Fatalf("source called %d times, want 2 (the background refresh CachedToken started)", n)
		}
		if tok, ok := c.CachedToken(context.Background()); !ok || tok.Value() != "tok-2" {
			t.Fatalf("after the refresh: CachedToken = %q, %v; want tok-2", tok.Value(), ok)
		}
		c.Invalidate(mustToken(t, c, "tok-2"))
		if _, ok := c.CachedToken(context.Background()); ok {
			t.Fatal("CachedToken answered after Invalidate")
		}
	})
}

// A static source always answers from "cache", except for the zero Token.
func TestStaticCachedToken(t *testing.T) {
	type cached interface {
		CachedToken(context.Context) (Token, bool)
	}
	s, ok := Static(NewToken("k", "", time.Time{})).(cached)
	if !ok {
		t.Fatal("Static does not implement CachedToken")
	}
	if tok, ok := s.CachedToken(context.Background()); !ok || tok.Value() != "k" {
		t.Fatalf("CachedToken = %q, %v", tok.Value(), ok)
	}
	if _, ok := Static(Token{}).(cached).CachedToken(context.Background()); ok {
		t.Fatal("the zero Token answered from cache")
	}
}

// blockingSetStore is a MemoryStore whose Set waits for release (a keyring
// waiting for its unlock prompt, up to its timeout).
type blockingSetStore struct {
	*MemoryStore
	release chan struct{}
}

func (s *blockingSetStore) Set(ctx context.Context, key string, value []byte) error {
	<-s.release
	return s.MemoryStore.Set(ctx, key, value)
}

// Persistence is best effort and "does not fail requests": callers
// waiting for a refresh get the new token as soon as the source gave it,
// not after a slow write of it to the store.
func TestCachePersistenceWriteDoesNotDelayWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &blockingSetStore{MemoryStore: NewMemoryStore(), release: make(chan struct{})}
		src := &fakeSource{ttl: time.Hour}
		c := mustCache(t, src, WithPersistence(store, "k"))
		got := make(chan Token, 1)
		go func() {
			tok, err := c.Token(context.Background())
			if err != nil {
				t.Error(err)
			}
			got <- tok
		}()
		synctest.Wait() // the refresh is done; only the store write hangs
		held := len(got) == 0
		close(store.release)
		synctest.Wait()
		if held {
			t.Fatal("the waiting caller is held until the token is persisted")
		}
		if tok := <-got; tok.Value() != "tok-1" {
			t.Fatalf("Token = %q", tok.Value())
		}
		if raw, err := store.Get(context.Background(), "k"); err != nil || len(raw) == 0 {
			t.Fatalf("token not persisted after the write: %v", err)
		}
		if n := src.calls.Load(); n != 1 {
			t.Fatalf("%d token requests, want 1", n)
		}
	})
}

// A token invalidated while the refresh that fetched it is still writing
// it to the store is not handed out again: the next caller gets a new
// token, not the finished refresh's rejected one. And the store ends up
// with the newer token, whatever order the writes finish in.
func TestCacheInvalidatedDuringPersistenceIsNotServed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &blockingSetStore{MemoryStore: NewMemoryStore(), release: make(chan struct{})}
		src := &fakeSource{ttl: time.Hour}
		c := mustCache(t, src, WithPersistence(store, "k"))
		first := make(chan Token, 1)
		go func() { tok, _ := c.Token(context.Background()); first <- tok }()
		synctest.Wait() // tok-1 is cached; its write to the store hangs
		if !c.Invalidate(NewToken("tok-1", "Bearer", time.Time{})) {
			t.Fatal("tok-1 was not the cached token")
		}
		second := make(chan Token, 1)
		go func() { tok, _ := c.Token(context.Background()); second <- tok }()
		synctest.Wait()
		close(store.release)
		synctest.Wait()
		if tok := <-first; tok.Value() != "tok-1" {
			t.Fatalf("first Token = %q, want tok-1", tok.Value())
		}
		if tok := <-second; tok.Value() != "tok-2" {
			t.Fatalf("Token after Invalidate(tok-1) = %q, want tok-2", tok.Value())
		}
		raw, err := store.Get(context.Background(), "k")
		if err != nil || !stringsContains(string(raw), `"tok-2"`) {
			t.Fatalf("store holds %s (%v), want the newer tok-2", raw, err)
		}
	})
}

// The refresh timeout stops a refresh even when the source does not honour
// its context (FromOAuth2: an oauth2.TokenSource takes none, and one over
// http.DefaultClient can hang on a silent token endpoint forever). Without
// that, the hung refresh stays the running one and every caller waits for
// it, for good.
func TestCacheRefreshTimeoutStopsSourceIgnoringContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		src := &fakeSource{ttl: time.Hour}
		src.setHook(func(_ context.Context, n int) error {
			if n == 1 {
				<-release // hangs, deaf to its context
			}
			return nil
		})
		c := mustCache(t, src, WithRefreshTimeout(5*time.Second), WithBackoff(time.Second, time.Second), WithJitter(0))
		done := make(chan error, 1)
		go func() { _, err := c.Token(context.Background()); done <- err }()
		time.Sleep(6 * time.Second)
		synctest.Wait()
		hung := len(done) == 0
		close(release)
		synctest.Wait()
		if hung {
			t.Fatal("Token still waiting for a source that ignores the refresh timeout")
		}
		if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
		mustToken(t, c, "tok-2") // after the backoff step, a new refresh
	})
}

// A source call the refresh timeout gave up on is still running: the next
// refresh must not call the source again beside it. A Cache refreshes one
// at a time (a source written for single flight, a refresh-token grant,
// would see two concurrent uses), and a source that never answers would
// otherwise leave one more goroutine behind at every backoff step.
func TestCacheHungSourceIsNotCalledAgainWhileItRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var inFlight, most atomic.Int32
		src := &fakeSource{ttl: time.Hour}
		src.setHook(func(context.Context, int) error {
			if k := inFlight.Add(1); k > most.Load() {
				most.Store(k)
			}
			defer inFlight.Add(-1)
			<-release // a silent token endpoint: hangs, deaf to its context
			return nil
		})
		c := mustCache(t, src, WithRefreshTimeout(5*time.Second), WithBackoff(time.Second, time.Second), WithJitter(0))
		for range 5 {
			if _, err := c.Token(context.Background()); err == nil {
				t.Fatal("Token succeeded while the source hangs")
			}
			time.Sleep(2 * time.Second) // past the backoff step
		}
		calls := src.calls.Load()
		close(release)
		synctest.Wait()
		if m := most.Load(); m != 1 || calls != 1 {
			t.Fatalf("%d source calls, at most %d at once, while the first hung; want 1, 1", calls, m)
		}
		time.Sleep(2 * time.Second)
		mustToken(t, c, "tok-2") // the endpoint answers again
	})
}

// The error handler is called on the refreshing goroutine, one report at a
// time, as it was while a refresh ended after persisting its token. Since
// a refresh ends as it publishes, the persistence of one refresh can
// overlap the next refresh: their reports must still not overlap (a
// handler that appends to a slice, as the examples' do, would race).
func TestCacheErrorHandlerNotCalledConcurrently(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &slowFailingSetStore{MemoryStore: NewMemoryStore(), release: make(chan struct{})}
		src := &fakeSource{ttl: time.Hour}
		var inside, overlaps, reports int // plain ints: -race checks the handler is serialised
		c := mustCache(t, src, WithPersistence(store, "k"), WithErrorHandler(func(error) {
			inside++
			if inside > 1 {
				overlaps++
			}
			reports++
			time.Sleep(time.Second) // a slow log write
			inside--
		}))
		mustToken(t, c, "tok-1") // its write to the store hangs, then fails
		close(store.release)
		synctest.Wait() // tok-1's persistence failure is being reported
		src.setHook(func(context.Context, int) error { return errors.New("endpoint down") })
		c.Invalidate(NewToken("tok-1", "Bearer", time.Time{}))
		if _, err := c.Token(context.Background()); err == nil {
			t.Fatal("Token succeeded with the source down")
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if reports != 2 || overlaps != 0 {
			t.Fatalf("%d reports, %d of them overlapping another; want 2, 0", reports, overlaps)
		}
	})
}

// slowFailingSetStore is a MemoryStore whose Set waits for release and
// then fails (a keyring that times out on its unlock prompt).
type slowFailingSetStore struct {
	*MemoryStore
	release chan struct{}
}

func (s *slowFailingSetStore) Set(context.Context, string, []byte) error {
	<-s.release
	return errors.New("keyring locked")
}

// TestCacheFarFutureExpiry: a token whose Expiry is centuries away (a
// source's way of saying "does not expire", year 9999) is cached like any
// other. The expiry must not overflow the Cache's monotonic deadlines,
// which would make the token count as expired at once and every call
// ask the source again.
func TestCacheFarFutureExpiry(t *testing.T) {
	far := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	var calls atomic.Int32
	src := SourceFunc(func(context.Context) (Token, error) {
		n := calls.Add(1)
		return NewToken("tok-"+strconv.Itoa(int(n)), "Bearer", far), nil
	})
	// (An overflowed deadline can wrap back to a large one when the margin
	// and the early-refresh window exceed the process's uptime, as in a
	// short test; in a service up for minutes it does not. Zero margin and
	// window keep the test from passing by that chance.)
	for _, opts := range [][]CacheOption{
		{WithExpiryMargin(0), WithEarlyRefresh(0)},
		{WithExpiryMargin(0)},
		{},
	} {
		calls.Store(0)
		c := mustCache(t, src, opts...)
		for range 10 {
			mustToken(t, c, "tok-1")
		}
		if n := calls.Load(); n != 1 {
			t.Fatalf("%d options: source called %d times, want 1", len(opts), n)
		}
	}
}

// TestCacheLateKickAfterRefreshStartsNothing: a caller that read the old
// entry in its early-refresh window, and reaches kick only after the
// background refresh has published the new token (a few instructions
// apart under load), must not start a second refresh nobody needs.
func TestCacheLateKickAfterRefreshStartsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{ttl: 10 * time.Minute}
		c := mustCache(t, src, WithEarlyRefresh(time.Minute), WithExpiryMargin(0), WithJitter(0))
		mustToken(t, c, "tok-1")
		time.Sleep(9*time.Minute + time.Second) // inside the window
		mustToken(t, c, "tok-1")                // starts the background refresh
		synctest.Wait()
		if n := src.calls.Load(); n != 2 {
			t.Fatalf("source called %d times, want 2", n)
		}
		// The late caller: it saw tok-1 due for refresh, then kicks.
		now, wall := c.clock()
		c.kick(context.Background(), now, wall)
		synctest.Wait()
		if n := src.calls.Load(); n != 2 {
			t.Fatalf("a late kick after the refresh published started another: %d calls, want 2", n)
		}
		mustToken(t, c, "tok-2")
	})
}
