package tokens

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// flakyWriteStore fails the Set calls numbered in failSets (1-based) and
// makes the Delete calls numbered in hangDeletes wait for their context (a
// keyring that does not answer). It counts both.
type flakyWriteStore struct {
	*MemoryStore
	mu          sync.Mutex
	sets, dels  int
	failSets    map[int]bool
	hangDeletes map[int]bool
}

func (s *flakyWriteStore) Set(ctx context.Context, key string, v []byte) error {
	s.mu.Lock()
	s.sets++
	fail := s.failSets[s.sets]
	s.mu.Unlock()
	if fail {
		return &StoreError{Backend: "flaky", Op: "set", Key: key, Err: ErrLocked}
	}
	return s.MemoryStore.Set(ctx, key, v)
}

func (s *flakyWriteStore) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	s.dels++
	hang := s.hangDeletes[s.dels]
	s.mu.Unlock()
	if hang {
		<-ctx.Done()
		return &StoreError{Backend: "flaky", Op: "delete", Key: key, Err: ErrTimeout, Cause: ctx.Err()}
	}
	return s.MemoryStore.Delete(ctx, key)
}

// storedValue returns the persisted token's value, or "" when none is.
func storedValue(t *testing.T, c *Cache) string {
	t.Helper()
	tok, err := c.load(context.Background())
	if errors.Is(err, ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return tok.Value()
}

// After Invalidate, a refresh that succeeds but fails to save its new
// token leaves the rejected token persisted: the next refresh must still
// fix the store (here a failed early refresh, which deletes it), so that a
// restart does not load the rejected token.
func TestCacheFailedSaveAfterInvalidateKeepsStoreStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &flakyWriteStore{MemoryStore: NewMemoryStore(), failSets: map[int]bool{2: true}}
		src := &fakeSource{ttl: time.Hour}
		opts := []CacheOption{WithPersistence(store, "cached-token"), WithJitter(0), WithErrorHandler(func(error) {})}
		c := mustCache(t, src, opts...)
		tok := mustToken(t, c, "tok-1")
		synctest.Wait()
		c.Invalidate(tok)
		mustToken(t, c, "tok-2") // its save fails: the store keeps tok-1
		synctest.Wait()
		if got := storedValue(t, c); got != "tok-1" {
			t.Fatalf("stored %q after a failed save, want tok-1", got)
		}
		// Into tok-2's early-refresh window, endpoint down: the background
		// refresh fails and must delete the rejected tok-1.
		src.setHook(func(context.Context, int) error { return errDown })
		time.Sleep(time.Hour - 45*time.Second)
		mustToken(t, c, "tok-2")
		synctest.Wait()
		if n := src.calls.Load(); n != 3 {
			t.Fatalf("source called %d times, want 3 (no early refresh?)", n)
		}
		if got := storedValue(t, c); got != "" {
			t.Fatalf("rejected token %q still persisted after the next refresh failed", got)
		}
		src.setHook(nil)
		c2 := mustCache(t, src, opts...)
		if got, err := c2.Token(context.Background()); err != nil || got.Equal(tok) {
			t.Fatalf("restart served the rejected token (%v)", err)
		}
	})
}

// The same when the refresh that fails to save ran while the delete of
// the rejected token by the failed refresh before it was still running
// (and then failed): nothing has removed the rejected token, so the next
// refresh must.
func TestCacheFailedSaveDuringFailedDropKeepsStoreStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &flakyWriteStore{
			MemoryStore: NewMemoryStore(),
			failSets:    map[int]bool{2: true},
			hangDeletes: map[int]bool{1: true},
		}
		src := &fakeSource{ttl: time.Hour}
		opts := []CacheOption{WithPersistence(store, "cached-token"), WithJitter(0), WithRefreshTimeout(10 * time.Second), WithErrorHandler(func(error) {})}
		c := mustCache(t, src, opts...)
		tok := mustToken(t, c, "tok-1")
		synctest.Wait()
		src.setHook(func(context.Context, int) error { return errDown })
		c.Invalidate(tok)
		c.Token(context.Background()) // fails; its delete hangs for 10 s
		time.Sleep(DefaultMinBackoff)
		src.setHook(nil)
		mustToken(t, c, "tok-3") // its save waits for the delete, then fails
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := storedValue(t, c); got != "tok-1" {
			t.Fatalf("stored %q after a failed delete and a failed save, want tok-1", got)
		}
		src.setHook(func(context.Context, int) error { return errDown })
		time.Sleep(time.Hour - 105*time.Second) // into tok-3's early-refresh window
		mustToken(t, c, "tok-3")
		synctest.Wait()
		if n := src.calls.Load(); n != 4 {
			t.Fatalf("source called %d times, want 4 (no early refresh?)", n)
		}
		if got := storedValue(t, c); got != "" {
			t.Fatalf("rejected token %q still persisted after the next refresh failed", got)
		}
	})
}

// With a Chain whose fallback holds an old copy it cannot update (a
// read-only environment variable), saving the new token after Invalidate
// reaches the primary but returns a *ChainError with Op "set". The primary
// then holds the new token, which a restart reads first: a failed refresh
// after it must not delete it, or a restart would read the fallback's old
// copy instead.
func TestCacheChainSetErrorAfterInvalidateKeepsPrimaryToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		primary := NewMemoryStore()
		env := readOnlyMem{NewMemoryStore()}
		env.MemoryStore.Set(context.Background(), "cached-token", []byte(`{"value":"old","type":"Bearer"}`))
		// The primary's copy has expired: the first refresh asks the source.
		primary.Set(context.Background(), "cached-token", []byte(`{"value":"expired","type":"Bearer","expiry":"1999-01-01T00:00:00Z"}`))
		chain, err := NewChain(Backend{Name: "mem", Store: primary}, Fallback(Backend{Name: "env", Store: env}, WhenNotFound))
		if err != nil {
			t.Fatal(err)
		}
		var reports int
		src := &fakeSource{ttl: time.Hour}
		opts := []CacheOption{WithPersistence(chain, "cached-token"), WithJitter(0), WithErrorHandler(func(error) { reports++ })}
		c := mustCache(t, src, opts...)
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
			t.Fatalf("restart would load %q, want tok-2 (the primary's token deleted?)", got)
		}
		if reports != 3 { // two ChainErrors, one failed refresh
			t.Fatalf("%d reports, want 3", reports)
		}
	})
}
