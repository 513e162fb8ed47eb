package transport_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// sameInstant counts the arrivals at the first one's instant.
func sameInstant(at []time.Time) int {
	n := 0
	for _, t := range at {
		if t.Equal(at[0]) {
			n++
		}
	}
	return n
}

// A lowered rate recovers with the intervals that passed, not with the
// requests that happened to arrive: after a minute without a signal (sixty
// recovery intervals) the adaptive limit of an unlimited host is lifted, so
// a burst goes out at once.
func TestThrottleRecoversAfterIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &resSwitch{step: transporttest.Respond(200, "")}
		tm := &resTimed{next: next}
		rt := newThrottle(t, tm, transport.ThrottleConfig{MaxWait: time.Minute})
		for range 40 { // 20/s for 2 s
			resSend(t, t.Context(), rt, resURL)
			time.Sleep(50 * time.Millisecond)
		}
		next.set(transporttest.Respond(429, ""))
		resSend(t, t.Context(), rt, resURL)
		next.set(transporttest.Respond(200, ""))

		time.Sleep(time.Minute) // idle: no request, no signal
		n0 := len(tm.arrivals())
		for range 20 {
			if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
				t.Fatal(err)
			}
		}
		if n := sameInstant(tm.arrivals()[n0:]); n != 20 {
			t.Errorf("%d of 20 sends went out at once after a minute idle, want 20 (limit lifted)", n)
		}
	})
}
