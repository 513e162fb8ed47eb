package tokens

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// hangDeleteOnce's first Delete hangs until its context ends (a keyring
// that does not answer); later ones work.
type hangDeleteOnce struct {
	*MemoryStore
	hung bool
}

func (s *hangDeleteOnce) Delete(ctx context.Context, key string) error {
	if !s.hung {
		s.hung = true
		<-ctx.Done()
		return &StoreError{Backend: "hung", Op: "delete", Key: key, Err: ErrTimeout, Cause: ctx.Err()}
	}
	return s.MemoryStore.Delete(ctx, key)
}

// A failed delete of the rejected token is tried again even when another
// failed refresh published while the delete was still running: that
// refresh did not delete (the note was cleared), so nothing else will.
// Only a refresh that publishes a new token (and overwrites the store)
// makes the retry needless.
func TestCacheRetriesDropFailedAfterAnotherFailedRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &hangDeleteOnce{MemoryStore: NewMemoryStore()}
		src := &fakeSource{ttl: time.Hour}
		opts := []CacheOption{WithPersistence(store, "cached-token"), WithErrorHandler(func(error) {}), WithRefreshTimeout(10 * time.Second)}
		c := mustCache(t, src, opts...)
		tok := mustToken(t, c, "tok-1")
		synctest.Wait()
		src.setHook(func(context.Context, int) error { return errDown })
		c.Invalidate(tok)
		c.Token(context.Background()) // fails; its delete hangs for 10 s
		time.Sleep(DefaultMinBackoff)
		c.Token(context.Background()) // fails while the delete runs
		time.Sleep(time.Minute)       // the delete has timed out
		synctest.Wait()
		c.Token(context.Background()) // fails again: must delete
		synctest.Wait()
		if _, err := store.MemoryStore.Get(context.Background(), "cached-token"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("rejected token still persisted after failed refreshes (Get: %v)", err)
		}
	})
}
