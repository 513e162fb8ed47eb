package tokens

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// The Cache calls its source on a goroutine of its own, where no caller's
// recover (net/http's per request) can reach: a source that panicked (a
// bug in a SourceFunc) took the whole process down. The panic is a failed
// refresh: the callers waiting for it get a *RefreshError matching
// ErrNoToken (naming the panic value's type, never its text, which may
// hold a secret), it is reported, it backs off, and the source is asked
// again after the step.
func TestCacheSourcePanicIsAFailedRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		src := SourceFunc(func(context.Context) (Token, error) {
			if calls.Add(1) == 1 {
				panic("source bug near secret-value")
			}
			return NewToken("tok", "Bearer", time.Now().Add(time.Hour)), nil
		})
		var reported []error
		c := mustCache(t, src, WithBackoff(time.Second, time.Second), WithJitter(0),
			WithErrorHandler(func(err error) { reported = append(reported, err) }))
		_, err := c.Token(context.Background())
		var re *RefreshError
		if !errors.As(err, &re) || !errors.Is(err, ErrNoToken) {
			t.Fatalf("err = %v, want a *RefreshError matching ErrNoToken", err)
		}
		if stringsContains(err.Error(), "secret-value") {
			t.Fatalf("the error carries the panic's text: %q", err)
		}
		if _, err := c.Token(context.Background()); !errors.Is(err, ErrBackoff) {
			t.Fatalf("during the step: %v, want ErrBackoff", err)
		}
		synctest.Wait()
		if len(reported) != 1 {
			t.Fatalf("reported %v, want the one failure", reported)
		}
		time.Sleep(time.Second)
		mustToken(t, c, "tok")
		if n := calls.Load(); n != 2 {
			t.Fatalf("%d source calls, want 2", n)
		}
	})
}
