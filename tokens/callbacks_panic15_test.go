package tokens

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/internal/childtest"
)

// The error handler of a Cache runs on the refreshing goroutine, the
// Cache's own: a handler that panicked (a bug in it) ended the process,
// where no caller's recover reaches. The panic is recovered; the refresh's
// outcome stands, and the next failure is reported again.
func TestCacheErrorHandlerPanicDoesNotCrash(t *testing.T) {
	childtest.Run(t, func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			src := SourceFunc(func(context.Context) (Token, error) { return Token{}, errors.New("down") })
			var calls atomic.Int32
			c := mustCache(t, src, WithBackoff(time.Second, time.Second), WithJitter(0),
				WithErrorHandler(func(error) {
					calls.Add(1)
					panic("handler bug near secret-value")
				}))
			var re *RefreshError
			if _, err := c.Token(context.Background()); !errors.As(err, &re) {
				t.Fatalf("err = %v, want a *RefreshError", err)
			}
			synctest.Wait()
			time.Sleep(time.Second)
			if _, err := c.Token(context.Background()); !errors.As(err, &re) || re.Failures != 2 {
				t.Fatalf("second refresh: %v, want the second failure", err)
			}
			synctest.Wait()
			if n := calls.Load(); n != 2 {
				t.Fatalf("handler called %d times, want 2", n)
			}
		})
	})
}
