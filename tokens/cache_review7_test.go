package tokens

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// constSource always hands back the same token, counting calls; fail, when
// set, makes calls fail instead.
type constSource struct {
	tok   Token
	calls int
	fail  error
}

func (s *constSource) Token(context.Context) (Token, error) {
	s.calls++
	if s.fail != nil {
		return Token{}, s.fail
	}
	return s.tok, nil
}

// Invalidate must reach the persisted copy: a restart must not load the
// token a server rejected, even when the refresh after it failed.
func TestCacheInvalidateDropsPersistedToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := NewMemoryStore()
		src := &fakeSource{ttl: time.Hour}
		c1 := mustCache(t, src, WithPersistence(store, "cached-token"))
		tok := mustToken(t, c1, "tok-1")
		synctest.Wait()
		src.setHook(func(context.Context, int) error { return errDown })
		c1.Invalidate(tok)
		if _, err := c1.Token(context.Background()); !errors.Is(err, errDown) {
			t.Fatalf("refresh with the endpoint down: %v", err)
		}
		synctest.Wait()

		// Restart, endpoint back.
		src.setHook(nil)
		c2 := mustCache(t, src, WithPersistence(store, "cached-token"))
		if got, err := c2.Token(context.Background()); err != nil || got.Equal(tok) {
			t.Fatalf("restart served the invalidated token (%v)", err)
		}
	})
}

// The same when the source hands back the rejected token.
func TestCacheRejectedTokenNotPersisted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := NewMemoryStore()
		same := NewToken("same", "Bearer", time.Now().Add(time.Hour))
		src := &constSource{tok: same}
		c := mustCache(t, src, WithPersistence(store, "k"))
		mustToken(t, c, "same")
		synctest.Wait()
		c.Invalidate(same)
		c.Token(context.Background())
		synctest.Wait()
		if _, err := store.Get(context.Background(), "k"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("rejected token still persisted: %v", err)
		}
	})
}
