package transport_test

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A RateLimit-Policy quota the server stops advertising holds the host's
// ceiling for the longer of its window and a full recovery
// (RecoveryInterval / RecoveryStep). That quotient was converted from a
// float64 to a time.Duration unchecked: beyond 292 years (an 80-year
// RecoveryInterval at a RecoveryStep of 0.25) the conversion overflowed (to
// a negative duration on amd64), the hold fell back to the policy's 1 s
// window, and the quota was dropped at the first recovery step, the host
// unlimited. A full recovery too long for a Duration now holds for as long
// as the clock counts, as a 200-year one does. Counted: requests sent back
// to back after the recovery step that the throttle refuses (MaxWait 1 ms,
// below the 100 ms a 10/s quota spaces them).
func TestThrottlePolicyHoldOverflowingFullRecovery(t *testing.T) {
	const year = 365 * 24 * time.Hour
	for _, interval := range []time.Duration{50 * year, 80 * year} {
		t.Run(fmt.Sprint(int64(interval/year), "y"), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				next := &resSwitch{step: transporttest.Respond(200, "")}
				rt := newThrottle(t, next, transport.ThrottleConfig{
					MaxWait: time.Millisecond, Decrease: 0.8,
					RecoveryStep: 0.25, RecoveryInterval: interval,
				})
				for range 100 { // 100/s
					resSend(t, t.Context(), rt, resURL)
					time.Sleep(10 * time.Millisecond)
				}
				// 10/s advertised: the host drops to 8/s.
				next.set(transporttest.Respond(429, "", "Retry-After", "1", "RateLimit-Policy", `"s";q=10;w=1`))
				resSend(t, t.Context(), rt, resURL)
				next.set(transporttest.Respond(200, ""))
				// One recovery step (8 + 0.25×10 ≥ 10) brings it back to
				// the quota, which a full recovery's hold still keeps.
				time.Sleep(interval + time.Second)
				refused := 0
				for range 5 {
					if _, err := resSend(t, t.Context(), rt, resURL); errors.Is(err, transport.ErrRateLimited) {
						refused++
					} else if err != nil {
						t.Fatal(err)
					}
				}
				if refused != 4 {
					t.Errorf("%d of 5 back-to-back sends refused after the recovery step, want 4 (held at the 10/s quota)", refused)
				}
			})
		})
	}
}
