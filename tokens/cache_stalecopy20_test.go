package tokens

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// staleCountStore stores every Set, counts it, and then fails as the
// Secret Service keyring does when an older item of the key cannot be
// deleted: the new value is stored (ErrStaleCopy).
type staleCountStore struct {
	staleCopyStore
	sets atomic.Int32
}

func (s *staleCountStore) Set(ctx context.Context, key string, v []byte) error {
	s.sets.Add(1)
	return s.staleCopyStore.Set(ctx, key, v)
}

// A save whose error matches ErrStaleCopy stored the new token: after
// Invalidate it overwrote the rejected token where a restart reads it, as
// a *ChainError with Op "set" does. The Cache took it for a failed write
// and kept the store marked stale, so the next failed refresh deleted the
// valid token it had just saved (on the keyring, the delete that failed
// before may fail again and leave only the old copy for a restart).
func TestCacheStaleCopySaveAfterInvalidateKeepsToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := staleCopyStore{NewMemoryStore()}
		var reports atomic.Int32
		src := &fakeSource{ttl: time.Hour}
		c := mustCache(t, src, WithPersistence(store, "cached-token"), WithJitter(0),
			WithErrorHandler(func(err error) {
				reports.Add(1)
			}))
		tok := mustToken(t, c, "tok-1")
		synctest.Wait()
		c.Invalidate(tok)
		mustToken(t, c, "tok-2")
		synctest.Wait()
		src.setHook(func(context.Context, int) error { return errDown })
		time.Sleep(time.Hour - 45*time.Second) // into tok-2's early-refresh window
		mustToken(t, c, "tok-2")
		synctest.Wait()
		if n := src.calls.Load(); n != 3 {
			t.Fatalf("source called %d times, want 3 (no early refresh?)", n)
		}
		if got := storedValue(t, c); got != "tok-2" {
			t.Fatalf("restart would load %q, want tok-2 (the saved token deleted?)", got)
		}
		if n := reports.Load(); n != 3 { // two stale copies, one failed refresh
			t.Fatalf("%d reports, want 3", n)
		}
	})
}

// Nor is a token whose save matched ErrStaleCopy (or was a *ChainError
// with Op "set") written again when an early refresh hands it back: the
// store holds it, and each such write repeated the stale-copy report.
func TestCacheStaleCopySaveNotRepeated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &cachingSource{ttl: time.Hour}
		store := &staleCountStore{staleCopyStore: staleCopyStore{NewMemoryStore()}}
		var reports atomic.Int32
		c := mustCache(t, src, WithPersistence(store, "cached-token"), WithErrorHandler(func(err error) {
			if !errors.Is(err, ErrStaleCopy) {
				t.Errorf("reported %v, want ErrStaleCopy", err)
			}
			reports.Add(1)
		}))
		seen := map[string]bool{}
		for range 2 * 36000 { // a caller every 100 ms for two lifetimes
			tok, err := c.Token(context.Background())
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			seen[tok.Value()] = true
			time.Sleep(100 * time.Millisecond)
		}
		synctest.Wait()
		if calls := src.calls.Load(); calls <= int32(len(seen)) {
			t.Fatalf("source called %d times for %d tokens: no token handed back early, the test shows nothing", calls, len(seen))
		}
		if n := store.sets.Load(); n != int32(len(seen)) {
			t.Fatalf("store written %d times for %d tokens, want one write a token", n, len(seen))
		}
		if n := reports.Load(); n != int32(len(seen)) {
			t.Fatalf("%d reports for %d tokens, want one a token", n, len(seen))
		}
	})
}

// The same over a Chain whose fallback holds a copy it cannot update.
func TestCacheChainSetErrorSaveNotRepeated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &cachingSource{ttl: time.Hour}
		primary := &setCountStore{MemoryStore: NewMemoryStore()}
		env := readOnlyMem{NewMemoryStore()}
		env.MemoryStore.Set(context.Background(), "cached-token", []byte(`{"value":"old","type":"Bearer"}`))
		primary.MemoryStore.Set(context.Background(), "cached-token", []byte(`{"value":"expired","type":"Bearer","expiry":"1999-01-01T00:00:00Z"}`))
		chain, err := NewChain(Backend{Name: "mem", Store: primary}, Fallback(Backend{Name: "env", Store: env}, WhenNotFound))
		if err != nil {
			t.Fatal(err)
		}
		c := mustCache(t, src, WithPersistence(chain, "cached-token"), WithErrorHandler(func(error) {}))
		seen := map[string]bool{}
		for range 2 * 36000 {
			tok, err := c.Token(context.Background())
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			seen[tok.Value()] = true
			time.Sleep(100 * time.Millisecond)
		}
		synctest.Wait()
		if calls := src.calls.Load(); calls <= int32(len(seen)) {
			t.Fatalf("source called %d times for %d tokens: the test shows nothing", calls, len(seen))
		}
		if n := primary.sets.Load(); n != int32(len(seen)) {
			t.Fatalf("primary written %d times for %d tokens, want one write a token", n, len(seen))
		}
	})
}
