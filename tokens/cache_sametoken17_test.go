package tokens

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// cachingSource is a source with a cache of its own (a metadata service, a
// sidecar): it hands back the same token until that token's remaining
// life falls under lead, and only then a new one valid for ttl. Each call
// takes 50 ms.
type cachingSource struct {
	ttl, lead time.Duration
	calls     atomic.Int32
	mu        sync.Mutex
	cur       Token
	n         int
}

func (s *cachingSource) Token(ctx context.Context) (Token, error) {
	s.calls.Add(1)
	time.Sleep(50 * time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur.IsZero() || time.Until(s.cur.Expiry()) <= s.lead {
		s.n++
		s.cur = NewToken("side-"+strconv.Itoa(s.n), "Bearer", time.Now().Add(s.ttl))
	}
	return s.cur, nil
}

// An early refresh that gets the cached token back (same value, same
// expiry) made no progress, and was re-armed at half the remaining life:
// against a source that keeps its token until it expires, about a dozen
// token requests per lifetime instead of one. It waits a backoff step
// instead, and the token is still replaced in time when the source
// rotates it.
func TestCacheEarlyRefreshSameTokenBacksOff(t *testing.T) {
	for _, lead := range []time.Duration{0, 5 * time.Second, 30 * time.Second} {
		t.Run("lead="+lead.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				src := &cachingSource{ttl: time.Hour, lead: lead}
				var errs atomic.Int32
				c := mustCache(t, src, WithErrorHandler(func(error) { errs.Add(1) }))
				seen := map[string]bool{}
				for range 3 * 36000 { // a caller every 100 ms for three lifetimes
					tok, err := c.Token(context.Background())
					if err != nil {
						t.Fatalf("Token: %v", err)
					}
					if !tok.Expiry().After(time.Now()) {
						t.Fatalf("served %v at %v: expired", tok, time.Now())
					}
					seen[tok.Value()] = true
					time.Sleep(100 * time.Millisecond)
				}
				synctest.Wait()
				if len(seen) < 3 {
					t.Fatalf("served %d tokens over three lifetimes, want 3 or more", len(seen))
				}
				// Default backoff (1 s doubling to 1 min) over the default
				// 1-minute window: at most 8 requests a lifetime, where
				// halving the remaining life made 11 or more.
				if n := src.calls.Load(); n > 3*8 {
					t.Fatalf("source called %d times over three lifetimes, want at most %d", n, 3*8)
				}
				if n := errs.Load(); n != 0 {
					t.Fatalf("error handler called %d times: a token handed back early is no failure", n)
				}
			})
		})
	}
}
