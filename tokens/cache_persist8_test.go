package tokens

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// A refresh after Invalidate that fails by running out its refresh timeout
// (a token endpoint that does not answer: the usual outage) must still
// delete the persisted copy of the rejected token. The write must not share
// the refresh's exhausted deadline.
func TestCacheInvalidateDropsPersistedTokenAfterRefreshTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := NewMemoryStore()
		src := &fakeSource{ttl: time.Hour}
		opts := []CacheOption{WithPersistence(store, "cached-token"), WithRefreshTimeout(5 * time.Second)}
		c1 := mustCache(t, src, opts...)
		tok := mustToken(t, c1, "tok-1")
		synctest.Wait()
		// The endpoint hangs: each refresh ends with its timeout.
		src.setHook(func(ctx context.Context, _ int) error {
			<-ctx.Done()
			return ctx.Err()
		})
		c1.Invalidate(tok)
		if _, err := c1.Token(context.Background()); err == nil {
			t.Fatal("refresh with a hung endpoint succeeded")
		}
		synctest.Wait()
		if _, err := store.Get(context.Background(), "cached-token"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("invalidated token still persisted after a timed-out refresh (Get: %v)", err)
		}

		// Restart, endpoint back: the rejected token is not loaded.
		src.setHook(nil)
		c2 := mustCache(t, src, opts...)
		if got, err := c2.Token(context.Background()); err != nil || got.Equal(tok) {
			t.Fatalf("restart served the invalidated token (%v)", err)
		}
	})
}

// A new token from a refresh that took nearly all of its timeout is still
// persisted.
func TestCachePersistsTokenFromSlowRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &delayedStore{MemoryStore: NewMemoryStore(), delay: 2 * time.Second}
		src := &fakeSource{ttl: time.Hour}
		src.setHook(func(ctx context.Context, _ int) error {
			time.Sleep(4 * time.Second) // of a 5 s refresh timeout
			return nil
		})
		c := mustCache(t, src, WithPersistence(store, "cached-token"), WithRefreshTimeout(5*time.Second))
		mustToken(t, c, "tok-1")
		synctest.Wait()
		time.Sleep(time.Minute)
		synctest.Wait()
		if v, err := store.MemoryStore.Get(context.Background(), "cached-token"); err != nil || len(v) == 0 {
			t.Fatalf("token of a slow refresh not persisted: %v", err)
		}
	})
}

// delayedStore's Set and Delete take delay, and fail when ctx ends first.
type delayedStore struct {
	*MemoryStore
	delay time.Duration
}

func (s *delayedStore) wait(ctx context.Context) error {
	select {
	case <-time.After(s.delay):
		return nil
	case <-ctx.Done():
		return &StoreError{Backend: "delayed", Op: "set", Key: "k", Err: ErrTimeout, Cause: ctx.Err()}
	}
}

func (s *delayedStore) Set(ctx context.Context, key string, v []byte) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.MemoryStore.Set(ctx, key, v)
}

func (s *delayedStore) Delete(ctx context.Context, key string) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.MemoryStore.Delete(ctx, key)
}

// failDeleteOnce fails its first Delete (a locked keyring).
type failDeleteOnce struct {
	*MemoryStore
	failed bool
}

func (s *failDeleteOnce) Delete(ctx context.Context, key string) error {
	if !s.failed {
		s.failed = true
		return &StoreError{Backend: "flaky", Op: "delete", Key: key, Err: ErrLocked}
	}
	return s.MemoryStore.Delete(ctx, key)
}

// A failed delete of the rejected token is tried again by the next failed
// refresh.
func TestCacheRetriesFailedDropOfRejectedToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &failDeleteOnce{MemoryStore: NewMemoryStore()}
		src := &fakeSource{ttl: time.Hour}
		c := mustCache(t, src, WithPersistence(store, "cached-token"), WithErrorHandler(func(error) {}))
		tok := mustToken(t, c, "tok-1")
		synctest.Wait()
		src.setHook(func(context.Context, int) error { return errDown })
		c.Invalidate(tok)
		c.Token(context.Background()) // fails; its delete fails
		synctest.Wait()
		time.Sleep(DefaultMaxBackoff)
		c.Token(context.Background()) // fails again; deletes
		synctest.Wait()
		if _, err := store.MemoryStore.Get(context.Background(), "cached-token"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("rejected token still persisted after a second failed refresh (Get: %v)", err)
		}
	})
}
