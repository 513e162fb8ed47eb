package tokens

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// A source that hands back the token a server just rejected (its own
// cache, a static key) keeps it served: the 401 may be one resource's or a
// passing fault, and the requests the server accepts must not fail. What
// backs off is asking the source: until the step is over, Invalidate keeps
// the token and no token request is made; each further handing back
// doubles the step, and a different token ends it.
func TestCacheHandedBackTokenStaysServed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		same := NewToken("same", "Bearer", time.Now().Add(time.Hour))
		src := &constSource{tok: same}
		var reported []error
		c := mustCache(t, src, WithBackoff(time.Second, 8*time.Second), WithJitter(0),
			WithErrorHandler(func(err error) { reported = append(reported, err) }))
		mustToken(t, c, "same")
		if !c.Invalidate(same) {
			t.Fatal("Invalidate(current) = false")
		}
		mustToken(t, c, "same") // the refresh hands it back: served
		synctest.Wait()
		if len(reported) != 1 || !errors.Is(reported[0], ErrTokenRejected) {
			t.Fatalf("reported %v, want one ErrTokenRejected", reported)
		}
		for range 50 {
			if c.Invalidate(same) {
				t.Fatal("Invalidate dropped the handed-back token during its backoff")
			}
			mustToken(t, c, "same")
		}
		if src.calls != 2 {
			t.Fatalf("%d token requests, want 2 (first token, one refresh)", src.calls)
		}
		// After the step a 401 asks the source again; handed back once more,
		// the next step is twice as long.
		time.Sleep(time.Second)
		if !c.Invalidate(same) {
			t.Fatal("Invalidate after the step = false")
		}
		mustToken(t, c, "same")
		time.Sleep(1500 * time.Millisecond)
		if c.Invalidate(same) {
			t.Fatal("the second step did not grow")
		}
		if src.calls != 3 {
			t.Fatalf("%d token requests, want 3", src.calls)
		}
		// A new token ends it all.
		time.Sleep(time.Second)
		src.tok = NewToken("new", "Bearer", time.Now().Add(time.Hour))
		c.Invalidate(same)
		mustToken(t, c, "new")
		c.Invalidate(src.tok)
		src.tok = NewToken("newer", "Bearer", time.Now().Add(time.Hour))
		mustToken(t, c, "newer")
	})
}
