package transport

import (
	"testing"

	"golang.org/x/time/rate"
)

// TestThrottleInfiniteRateIsNoLimit: HostLimit.Rate rate.Inf limits
// nothing, as a zero Rate does, so its hosts take no token (no lock per
// request); the adaptive throttle may still impose a rate on them.
func TestThrottleInfiniteRateIsNoLimit(t *testing.T) {
	rt, err := NewThrottle(nil, ThrottleConfig{Limit: HostLimit{Rate: rate.Inf}})
	if err != nil {
		t.Fatal(err)
	}
	h := rt.(*throttleLayer).newHost("api.example.test")
	if h.limited.Load() || h.lim.Load() != nil || h.base != rate.Inf {
		t.Errorf("limited %v, limiter %v, base %v: want no limit", h.limited.Load(), h.lim.Load() != nil, h.base)
	}
}
