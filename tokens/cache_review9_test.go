package tokens

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// The monotonic clock stops while the machine is suspended or the VM
// paused; the wall clock (and the token server's) does not. A Cache that
// measured expiry on the monotonic clock alone served, after a resume, a
// token that had expired during the suspend, until a 401 made it refresh
// (and a request that cannot be replayed failed). A token is now served
// only while both clocks say it is fresh; the early refresh starts when
// either says so; and a wall clock stepped back still cannot keep a token
// the monotonic clock says has expired.
func TestCacheHonoursWallClockAfterSuspend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c *Cache
		var calls atomic.Int32
		// The token server's clock is the wall clock: its tokens expire an
		// hour after its now, however long we were suspended.
		src := SourceFunc(func(context.Context) (Token, error) {
			n := calls.Add(1)
			exp := time.Now().Add(time.Duration(c.wallAhead.Load()) + time.Hour)
			return NewToken("tok-"+strconv.Itoa(int(n)), "Bearer", exp), nil
		})
		c = mustCache(t, src, WithJitter(0)) // early refresh 1m, margin 10s
		mustToken(t, c, "tok-1")

		// Suspended for 2 h: tok-1 expired an hour ago.
		c.wallAhead.Store(int64(2 * time.Hour))
		if tok, ok := c.CachedToken(context.Background()); ok {
			t.Fatalf("after a 2 h suspend CachedToken served %q, which expired during it", tok.Value())
		}
		mustToken(t, c, "tok-2")

		// Suspended into tok-2's early-refresh window: tok-2 is still served,
		// and one background refresh starts.
		c.wallAhead.Add(int64(time.Hour - 30*time.Second))
		mustToken(t, c, "tok-2")
		synctest.Wait()
		if n := calls.Load(); n != 3 {
			t.Fatalf("source called %d times, want 3 (a background refresh in the window)", n)
		}
		mustToken(t, c, "tok-3")

		// The wall clock stepped back 3 h: the monotonic clock still ends
		// tok-3 on time.
		c.wallAhead.Add(int64(-3 * time.Hour))
		time.Sleep(time.Hour)
		mustToken(t, c, "tok-4")
	})
}

// CachedTokenAt takes the caller's clock reading (the auth layer passes
// its attempt's shared one) and judges the token on both its clocks, as
// CachedToken does; a reading without its monotonic part is not trusted
// for the monotonic check, and the clock is read instead.
func TestCachedTokenAtUsesBothClocksOfTheReading(t *testing.T) {
	{ // real time: a synctest bubble's readings carry no monotonic part
		src := SourceFunc(func(context.Context) (Token, error) {
			return NewToken("tok", "Bearer", time.Now().Add(time.Hour)), nil
		})
		c := mustCache(t, src, WithJitter(0))
		mustToken(t, c, "tok")
		ctx := context.Background()
		if _, ok := c.CachedTokenAt(ctx, time.Now()); !ok {
			t.Fatal("a fresh token at a fresh reading: not served")
		}
		// A reading whose wall clock is 2 h on (a suspend the reading saw:
		// time.Now after a resume has the wall clock moved, the monotonic
		// one not): the token is not served.
		c.wallAhead.Store(int64(2 * time.Hour))
		if tok, ok := c.CachedTokenAt(ctx, time.Now()); ok {
			t.Fatalf("after a 2 h suspend CachedTokenAt served %q", tok.Value())
		}
		c.wallAhead.Store(0)
		// A reading 2 h on by both clocks: expired.
		if _, ok := c.CachedTokenAt(ctx, time.Now().Add(2*time.Hour)); ok {
			t.Fatal("a reading past the expiry: the token was served")
		}
		// Without its monotonic part the reading is not used: the Cache
		// reads the clock, which says the token is fresh.
		if _, ok := c.CachedTokenAt(ctx, time.Now().Add(2*time.Hour).Round(0)); !ok {
			t.Fatal("a reading without a monotonic part was used instead of the clock")
		}
	}
}
