package tokens

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"
)

// WithBackoff's max given as "no cap" (the largest Duration) overflowed
// the Cache's arithmetic: twice the max, the window in which a token that
// replaced a rejected one counts as rejected in turn, wrapped negative,
// so a server rejecting every token cost a token request per call again
// (50 here, where a one-minute max makes 3). A max beyond a century
// counts as a century.
func TestCacheUncappedBackoffKeepsRejectStreak(t *testing.T) {
	for _, max := range []time.Duration{time.Minute, math.MaxInt64} {
		synctest.Test(t, func(t *testing.T) {
			src := &fakeSource{ttl: time.Hour}
			c := mustCache(t, src, WithBackoff(time.Second, max), WithJitter(0))
			for range 50 { // a server that answers 401 to every token
				tok, err := c.Token(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				c.Invalidate(tok)
			}
			if n := src.calls.Load(); n != 3 {
				t.Fatalf("max backoff %v: %d token requests for 50 rejected calls, want 3", max, n)
			}
		})
	}
}

// Doubling a step past the largest Duration wrapped it negative: no
// backoff at all after enough failures (or at once, with a min that
// large), and every call became a token request. Steps beyond a century
// count as a century.
func TestCacheBackoffStepSaturates(t *testing.T) {
	c := mustCache(t, &fakeSource{}, WithBackoff(time.Duration(1<<62), math.MaxInt64), WithJitter(0))
	for n := 1; n < 100; n++ {
		if d := c.backoff(n); d <= 0 || d > maxLife {
			t.Fatalf("backoff(%d) = %v", n, d)
		}
	}
}
