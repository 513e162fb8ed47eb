package tokens

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// setCountStore counts its Set calls; failSets of them fail first.
type setCountStore struct {
	*MemoryStore
	sets     atomic.Int32
	failSets int32
}

func (s *setCountStore) Set(ctx context.Context, key string, v []byte) error {
	if n := s.sets.Add(1); n <= s.failSets {
		return &StoreError{Backend: "counting", Op: "set", Key: key, Err: ErrLocked}
	}
	return s.MemoryStore.Set(ctx, key, v)
}

// An early refresh that gets the cached token back (a source that keeps
// its token until it expires) wrote that same token to the store again on
// every such answer: a write that changes nothing (a keyring prompt, a
// file rewritten and fsynced). One write a token; a token whose write
// failed is written by the next answer that hands it back.
func TestCacheSameTokenNotPersistedAgain(t *testing.T) {
	for _, failSets := range []int32{0, 1} {
		t.Run("failSets="+string(rune('0'+failSets)), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				src := &cachingSource{ttl: time.Hour}
				store := &setCountStore{MemoryStore: NewMemoryStore(), failSets: failSets}
				c := mustCache(t, src, WithPersistence(store, "cached-token"), WithErrorHandler(func(error) {}))
				seen := map[string]bool{}
				var last Token
				for range 2 * 36000 { // a caller every 100 ms for two lifetimes
					tok, err := c.Token(context.Background())
					if err != nil {
						t.Fatalf("Token: %v", err)
					}
					seen[tok.Value()] = true
					last = tok
					time.Sleep(100 * time.Millisecond)
				}
				synctest.Wait()
				if calls := src.calls.Load(); calls <= int32(len(seen)) {
					t.Fatalf("source called %d times for %d tokens: no token handed back early, the test shows nothing", calls, len(seen))
				}
				if n, want := store.sets.Load(), int32(len(seen))+failSets; n != want {
					t.Fatalf("store written %d times for %d tokens (%d failed writes), want %d", n, len(seen), failSets, want)
				}
				p, err := c.load(context.Background())
				if err != nil || !p.Equal(last) {
					t.Fatalf("store does not hold the token served (%v)", err)
				}
			})
		})
	}
}
