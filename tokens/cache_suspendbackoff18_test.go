package tokens

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A refresh that failed just before the machine was suspended backs off
// for a step measured on the monotonic clock, which stops during the
// suspend: after a 2 h suspend the step still had its whole length to
// run, and every caller got ErrBackoff without a token request although
// the token expired during the suspend and the step was two hours over on
// the wall clock (the token server's). A backoff step is over when either
// clock says it is, as an early refresh is due when either says so.
func TestCacheBackoffOverAfterSuspend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c *Cache
		var calls atomic.Int32
		var down atomic.Bool
		src := SourceFunc(func(context.Context) (Token, error) {
			n := calls.Add(1)
			if down.Load() {
				return Token{}, errDown
			}
			exp := time.Now().Add(time.Duration(c.wallAhead.Load()) + time.Hour)
			return NewToken("tok-"+strconv.Itoa(int(n)), "Bearer", exp), nil
		})
		c = mustCache(t, src, WithJitter(0), WithBackoff(time.Minute, time.Minute), WithErrorHandler(func(error) {}))
		mustToken(t, c, "tok-1")

		// In tok-1's early-refresh window the background refresh fails:
		// a one-minute backoff step starts.
		down.Store(true)
		time.Sleep(time.Hour - 40*time.Second)
		mustToken(t, c, "tok-1")
		synctest.Wait()
		if n := calls.Load(); n != 2 {
			t.Fatalf("source called %d times, want 2 (a failed background refresh)", n)
		}

		// Suspended for 2 h right after; the token server is back.
		down.Store(false)
		c.wallAhead.Store(int64(2 * time.Hour))
		tok, err := c.Token(context.Background())
		if errors.Is(err, ErrBackoff) {
			t.Fatalf("after a 2 h suspend the backoff step of a minute still runs: %v", err)
		}
		if err != nil || tok.Value() != "tok-3" {
			t.Fatalf("Token after the suspend = %q, %v; want tok-3", tok.Value(), err)
		}

		// Without a suspend the step is kept: a failure, then no token
		// request for a minute.
		down.Store(true)
		c.Invalidate(tok)
		if _, err := c.Token(context.Background()); err == nil || errors.Is(err, ErrBackoff) {
			t.Fatalf("refresh with the source down: %v, want its failure", err)
		}
		down.Store(false)
		time.Sleep(30 * time.Second)
		if _, err := c.Token(context.Background()); !errors.Is(err, ErrBackoff) {
			t.Fatalf("30 s into a 1 min step: %v, want ErrBackoff", err)
		}
		time.Sleep(30 * time.Second)
		mustToken(t, c, "tok-5")
	})
}
