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

// A source that hands back the very token a server just rejected must not
// cost a token request per call: the Cache fails fast with ErrTokenRejected
// and backs off, and the backoff grows while the source keeps doing it.
func TestCacheRejectedTokenHandedBackBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		same := NewToken("same", "Bearer", time.Now().Add(time.Hour))
		src := &constSource{tok: same}
		c := mustCache(t, src, WithBackoff(time.Second, 8*time.Second), WithJitter(0))
		mustToken(t, c, "same")
		if !c.Invalidate(same) {
			t.Fatal("Invalidate(current) = false")
		}
		_, err := c.Token(context.Background())
		var re *RefreshError
		if !errors.As(err, &re) || re.Backoff || !errors.Is(err, ErrTokenRejected) {
			t.Fatalf("refresh that handed back the rejected token: %v", err)
		}
		for range 50 {
			if _, err := c.Token(context.Background()); !errors.Is(err, ErrBackoff) || !errors.Is(err, ErrTokenRejected) {
				t.Fatalf("during backoff: %v", err)
			}
		}
		if src.calls != 2 {
			t.Fatalf("%d token requests, want 2 (first token, one refresh)", src.calls)
		}
		// After the step the source's token gets one more chance (a 401 may
		// have been the server's passing fault)...
		time.Sleep(time.Second)
		mustToken(t, c, "same")
		// ...and a second rejection backs off longer (2 s).
		c.Invalidate(same)
		if _, err := c.Token(context.Background()); !errors.As(err, &re) || re.Failures != 2 {
			t.Fatalf("second rejection: %v", err)
		}
		time.Sleep(1500 * time.Millisecond)
		if _, err := c.Token(context.Background()); !errors.Is(err, ErrBackoff) {
			t.Fatalf("backoff did not grow: %v", err)
		}
		if src.calls != 4 {
			t.Fatalf("%d token requests, want 4", src.calls)
		}
		// A new token ends it all.
		src.tok = NewToken("new", "Bearer", time.Now().Add(time.Hour))
		time.Sleep(time.Second)
		mustToken(t, c, "new")
		c.Invalidate(src.tok)
		src.tok = NewToken("newer", "Bearer", time.Now().Add(time.Hour))
		mustToken(t, c, "newer")
	})
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
