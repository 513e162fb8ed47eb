package tokens

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestCacheRejectHoldOverAfterSuspend: the hold on a token that replaced a
// rejected one and was rejected in turn (a server that rejects every
// token) is over when either clock says so, as a backoff step is: a
// suspend (the monotonic clock stops, the wall clock runs on) that
// outlasts it does not keep the token after the resume, its 401s returned
// as is. And a token that then lived an hour on the wall clock was not
// "rejected soon after it arrived": its rejection starts a new count, so
// the token after it is dropped once, not held.
func TestCacheRejectHoldOverAfterSuspend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c *Cache
		var calls atomic.Int32
		src := SourceFunc(func(context.Context) (Token, error) {
			n := calls.Add(1)
			exp := time.Now().Add(time.Duration(c.wallAhead.Load()) + 24*time.Hour)
			return NewToken("tok-"+strconv.Itoa(int(n)), "Bearer", exp), nil
		})
		c = mustCache(t, src, WithJitter(0), WithBackoff(time.Minute, 10*time.Minute))
		tok1 := mustToken(t, c, "tok-1")
		if !c.Invalidate(tok1) { // a first rejection: honoured
			t.Fatal("Invalidate(tok-1) = false")
		}
		tok2 := mustToken(t, c, "tok-2")
		if !c.Invalidate(tok2) { // rejected right after: dropped once, a hold starts
			t.Fatal("Invalidate(tok-2) = false")
		}
		tok3 := mustToken(t, c, "tok-3")
		if c.Invalidate(tok3) {
			t.Fatal("Invalidate(tok-3) within the hold = true, want it kept")
		}

		// Suspended for an hour, far past the one-minute hold.
		c.wallAhead.Store(int64(time.Hour))
		if !c.Invalidate(tok3) {
			t.Fatal("after a 1 h suspend, the 1 min hold still keeps tok-3")
		}
		tok4 := mustToken(t, c, "tok-4")
		// tok-3 lived an hour (wall clock): a new count, tok-4 is
		// dropped once and tok-5 held.
		if !c.Invalidate(tok4) {
			t.Fatal("Invalidate(tok-4) = false: tok-3's hour-long life counted as a rejection soon after its arrival")
		}
		tok5 := mustToken(t, c, "tok-5")
		if c.Invalidate(tok5) {
			t.Fatal("Invalidate(tok-5) = true, want it held")
		}
		if n := calls.Load(); n != 5 {
			t.Errorf("%d token requests, want 5", n)
		}
	})
}
