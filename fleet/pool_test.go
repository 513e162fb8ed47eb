package fleet

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/transport"
)

// busyPool returns a go-redis client with one connection and a short
// PoolTimeout, and a function that makes that connection busy (a BLPOP
// blocking on an empty key) until the returned release is called. Redis
// itself stays up and answers other clients throughout.
func busyPool(t *testing.T, srv *redistest.Server) (c *redis.Client, hold func() (release func())) {
	t.Helper()
	c = redis.NewClient(&redis.Options{
		Addr:                  srv.Addr(),
		PoolSize:              1,
		PoolTimeout:           20 * time.Millisecond,
		DialTimeout:           time.Second,
		ReadTimeout:           time.Second,
		WriteTimeout:          time.Second,
		MaxRetries:            -1,
		ContextTimeoutEnabled: true,
	})
	t.Cleanup(func() { _ = c.Close() })
	other := srv.Client()
	hold = func() func() {
		t.Helper()
		key := "busy:" + t.Name()
		done := make(chan error, 1)
		go func() { done <- c.BLPop(context.Background(), 0, key).Err() }()
		// Wait until the BLPOP holds the only connection: Redis lists
		// the client as blocked.
		for {
			info, err := other.Info(context.Background(), "clients").Result()
			if err != nil {
				t.Fatal(err)
			}
			if containsLine(info, "blocked_clients:1") {
				break
			}
			time.Sleep(time.Millisecond)
		}
		return func() {
			t.Helper()
			if err := other.LPush(context.Background(), key, "x").Err(); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatalf("BLPOP: %v", err)
			}
		}
	}
	return c, hold
}

func containsLine(s, line string) bool {
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		l := s[:i]
		if len(l) > 0 && l[len(l)-1] == '\r' {
			l = l[:len(l)-1]
		}
		if l == line {
			return true
		}
		if i == len(s) {
			break
		}
		s = s[i+1:]
	}
	return false
}

// checkNotDown fails when st shows Redis marked down or a Redis error
// counted for a call that only found the client's pool exhausted.
func checkNotDown(t *testing.T, what string, st Stats, pool int64) {
	t.Helper()
	if st.Degraded || st.RedisErrors != 0 || st.PoolExhausted != pool {
		t.Errorf("%s: stats %+v, want not degraded, 0 Redis errors, %d pool exhausted", what, st, pool)
	}
}

// An exhausted connection pool (every connection busy, Redis up) is not
// a Redis outage: the call is refused with ErrPoolExhausted (not
// ErrUnavailable), Redis is not marked down, no Redis error is counted,
// and the next call goes to Redis at once instead of waiting for a probe.
func TestPoolExhaustedIsNotAnOutage(t *testing.T) {
	srv := redistest.Start(t)

	t.Run("nonce", func(t *testing.T) {
		c, hold := busyPool(t, srv)
		s, err := NewNonceStore(c, NonceOptions{Timeout: time.Second, ProbeInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		release := hold()
		err = s.Claim(context.Background(), "k", "n1", now, now.Add(time.Minute))
		var fe *Error
		if !errors.Is(err, ErrPoolExhausted) || !errors.Is(err, redis.ErrPoolTimeout) ||
			errors.Is(err, ErrUnavailable) || !errors.As(err, &fe) || fe.Store != "nonce" {
			t.Fatalf("claim on an exhausted pool: %v, want an *Error matching ErrPoolExhausted and redis.ErrPoolTimeout, not ErrUnavailable", err)
		}
		checkNotDown(t, "after the exhausted claim", s.Stats(), 1)
		release()
		calls := s.Stats().RedisCalls
		if err := s.Claim(context.Background(), "k", "n1", now, now.Add(time.Minute)); err != nil {
			t.Fatalf("claim after the pool freed up: %v", err)
		}
		if got := s.Stats().RedisCalls - calls; got != 1 {
			t.Errorf("claim after the pool freed up made %d Redis calls, want 1 (not skipped as marked down)", got)
		}
		checkNotDown(t, "after recovery", s.Stats(), 1)
	})

	t.Run("quota", func(t *testing.T) {
		c, hold := busyPool(t, srv)
		q := newQuota(t, c, QuotaOptions{Limit: QuotaLimit{Rate: 1000}, Policy: FailClosed,
			Timeout: time.Second, ProbeInterval: time.Hour})
		release := hold()
		_, err := q.TakeQuota(context.Background(), "api.example.com")
		if !errors.Is(err, ErrPoolExhausted) || !errors.Is(err, transport.ErrRateLimited) || errors.Is(err, ErrUnavailable) {
			t.Fatalf("TakeQuota on an exhausted pool: %v, want ErrPoolExhausted and ErrRateLimited, not ErrUnavailable", err)
		}
		checkNotDown(t, "after the exhausted lease", q.Stats(), 1)
		release()
		if d, err := q.TakeQuota(context.Background(), "api.example.com"); err != nil || d != 0 {
			t.Fatalf("TakeQuota after the pool freed up: %v, %v; want a token (not refused as marked down)", d, err)
		}
		checkNotDown(t, "after recovery", q.Stats(), 1)
	})

	t.Run("cooldown", func(t *testing.T) {
		c, hold := busyPool(t, srv)
		s, err := NewCooldownStore(c, CooldownOptions{Policy: FailClosed, Timeout: time.Second, ProbeInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		release := hold()
		// FailClosed would report a cooldown until the next probe (an
		// hour) had the exhausted read marked Redis down.
		if u := s.CooldownUntil("api.example.com"); !u.IsZero() {
			t.Errorf("CooldownUntil on an exhausted pool = %v, want none", u)
		}
		checkNotDown(t, "after the exhausted read", s.Stats(), 1)
		release()
		calls := s.Stats().RedisCalls
		if u := s.CooldownUntil("api.example.com"); !u.IsZero() {
			t.Errorf("CooldownUntil after the pool freed up = %v, want none", u)
		}
		if got := s.Stats().RedisCalls - calls; got != 1 {
			t.Errorf("the read after the pool freed up made %d Redis calls, want 1", got)
		}
		checkNotDown(t, "after recovery", s.Stats(), 1)
	})
}

// A verifier refusing a request because the pool was exhausted answers
// 503 with Retry-After (the signature was not judged), like an outage.
func TestErrorHandlerPoolExhausted(t *testing.T) {
	rec := httptest.NewRecorder()
	ErrorHandler(rec, httptest.NewRequest("GET", "/", nil), &Error{Store: "nonce", Op: "claim", Err: redis.ErrPoolTimeout})
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("ErrorHandler: %d, Retry-After %q; want 503, 1", rec.Code, rec.Header().Get("Retry-After"))
	}
}
