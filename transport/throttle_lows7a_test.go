package transport_test

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// throttleWithPolicy sends at 100/s for a second, then a 429 carrying
// policy, then answers 200 carrying it for 8 s of sends one second apart
// (a full recovery, the policy advertised all along).
func throttleWithPolicy(t *testing.T, rt http.RoundTripper, next *resSwitch, policy string) {
	t.Helper()
	for range 100 {
		resSend(t, t.Context(), rt, resURL)
		time.Sleep(10 * time.Millisecond)
	}
	next.set(transporttest.Respond(429, "", "Retry-After", "1", "RateLimit-Policy", policy))
	resSend(t, t.Context(), rt, resURL)
	next.set(transporttest.Respond(200, "", "RateLimit-Policy", policy))
	for range 12 {
		time.Sleep(time.Second)
		if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
			t.Fatalf("send during recovery: %v", err)
		}
	}
}

// sendGap sends 3 requests back to back and returns the gap between the
// last two arrivals, failing the test if one is refused.
func sendGap(t *testing.T, rt http.RoundTripper, tm *resTimed) time.Duration {
	t.Helper()
	n0 := len(tm.arrivals())
	for i := range 3 {
		if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
			t.Fatalf("back-to-back send %d: %v", i, err)
		}
	}
	at := tm.arrivals()[n0:]
	return at[2].Sub(at[1])
}

// MinRate is the floor of the adaptive rate: a RateLimit-Policy whose
// quota/window works out below it (here 1 request an hour, or a window
// that saturates) does not hold the host below MinRate, or the client
// would send so little it might never see the server's next policy.
func TestThrottlePolicyCeilingFlooredAtMinRate(t *testing.T) {
	for _, policy := range []string{`"h";q=1;w=3600`, `"x";q=1;w=9999999999`} {
		t.Run(policy, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				next := &resSwitch{step: transporttest.Respond(200, "")}
				tm := &resTimed{next: next}
				rt := newThrottle(t, tm, transport.ThrottleConfig{MaxWait: time.Minute, MinRate: 1})
				throttleWithPolicy(t, rt, next, policy)
				if d := sendGap(t, rt, tm); d > time.Second {
					t.Errorf("gap %v at a policy below MinRate 1/s, want at most 1s", d)
				}
			})
		})
	}
}

// A policy with a huge window (a day here; a saturating w alike) that the
// server stops advertising lapses within maxPolicyHold (an hour): its
// window no longer holds the host's ceiling for as long as the server
// chose.
func TestThrottlePolicyHoldCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &resSwitch{step: transporttest.Respond(200, "")}
		tm := &resTimed{next: next}
		rt := newThrottle(t, tm, transport.ThrottleConfig{MaxWait: time.Minute})
		throttleWithPolicy(t, rt, next, `"day";q=864000;w=86400`) // 10/s
		if d := sendGap(t, rt, tm); d != 100*time.Millisecond {
			t.Fatalf("gap %v at the advertised quota, want 100ms", d)
		}
		next.set(transporttest.Respond(200, "")) // the server stops advertising
		time.Sleep(time.Hour + time.Minute)
		resSend(t, t.Context(), rt, resURL)
		t0 := time.Now()
		for range 20 {
			resSend(t, t.Context(), rt, resURL)
		}
		if time.Since(t0) != 0 {
			t.Errorf("policy ceiling held past an hour without the policy: 20 sends took %v", time.Since(t0))
		}
	})
}
