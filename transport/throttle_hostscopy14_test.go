package transport_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
)

// TestNewThrottleCopiesHosts: the throttle reads its per-host limits at
// every new host; a caller changing its Hosts slice after NewThrottle (to
// build its next layer) must not change this one's limits.
func TestNewThrottleCopiesHosts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hosts := []transport.HostLimit{{Pattern: "api.example.test", Rate: 0.001, Burst: 1}}
		rt, sent := countingThrottle(t, transport.ThrottleConfig{Hosts: hosts, MaxWait: time.Second, DisableAdaptive: true})
		hosts[0] = transport.HostLimit{Pattern: "api.example.test"} // no limit
		const u = "https://api.example.test/x"
		for range 2 {
			resSend(t, t.Context(), rt, u)
		}
		if n := sent.Load(); n != 1 {
			t.Errorf("%d requests sent, want 1: the limit given to NewThrottle (one per 1000 s) was changed after it", n)
		}
	})
}
