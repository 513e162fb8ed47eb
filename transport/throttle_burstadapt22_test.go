package transport_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A host configured with a Burst larger than a second of its Rate kept
// that whole burst while a 429 held its rate lowered: the bucket, refilled
// at the lowered rate, let a full configured burst (20 requests at once)
// go to a host that had just said "too many". While lowered (or held at
// an advertised quota) the bucket now holds one second of the lowered
// rate, never more than the configured Burst; the configured burst is
// given back once the limit is lifted.
func TestThrottleAdaptiveBurstFollowsLoweredRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &resSwitch{step: transporttest.Respond(429, "")}
		tm := &resTimed{next: next}
		rt := newThrottle(t, tm, transport.ThrottleConfig{Limit: transport.HostLimit{Rate: 10, Burst: 20}, MaxWait: time.Minute})
		resSend(t, t.Context(), rt, resURL) // 429: 10/s halved to 5/s
		next.set(transporttest.Respond(200, ""))
		time.Sleep(4 * time.Second) // refilled at the lowered rate (recovery steps applied on the next send)
		burst := func() int {
			n0 := len(tm.arrivals())
			t0 := time.Now()
			for range 20 {
				resSend(t, t.Context(), rt, resURL)
			}
			n := 0
			for _, at := range tm.arrivals()[n0:] {
				if at.Equal(t0) {
					n++
				}
			}
			return n
		}
		// At most one second of the rate it has recovered to by then
		// (5/s + 4 steps of 1/s: 9/s, 9 tokens), not 20.
		if n := burst(); n > 9 || n < 2 {
			t.Errorf("%d of 20 requests went at once after the 429, want at most 9 (one second of the lowered rate)", n)
		}
		// Lifted: the configured burst is back.
		time.Sleep(30 * time.Second)
		resSend(t, t.Context(), rt, resURL) // applies the recovery
		time.Sleep(5 * time.Second)         // refill
		if n := burst(); n != 20 {
			t.Errorf("%d of 20 requests went at once after the limit was lifted, want 20 (the configured burst)", n)
		}
	})
}
