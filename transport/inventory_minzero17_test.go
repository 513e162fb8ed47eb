package transport_test

import (
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// min_ms is exact, as inventory.md says, also for a call that took no
// measurable time (a clock that did not move: InventoryConfig.Now, a
// coarse clock): it was reported as 1 ns, above max_ms (0) and the mean.
func TestInventoryLatencyMinOfZeroDuration(t *testing.T) {
	inv := newInventory(t, transport.InventoryConfig{})
	u := mustURL(t, "https://api.example.test/zero")
	inv.Record(transport.Observation{Method: "GET", URL: u, StatusCode: 200})
	l := inv.Snapshot().Entries[0].Latency
	if l.MinMs != 0 || l.MaxMs != 0 || l.MinMs > l.MaxMs {
		t.Fatalf("one call of 0: min %v max %v, want 0 and 0", l.MinMs, l.MaxMs)
	}
	inv.Record(transport.Observation{Method: "GET", URL: u, StatusCode: 200, Duration: 5 * time.Millisecond})
	l = inv.Snapshot().Entries[0].Latency
	if l.MinMs != 0 || l.MaxMs != 5 || l.MeanMs < l.MinMs || l.MeanMs > l.MaxMs {
		t.Fatalf("calls of 0 and 5 ms: %+v, want min 0, max 5", l)
	}
	u2 := mustURL(t, "https://api.example.test/one")
	inv.Record(transport.Observation{Method: "GET", URL: u2, StatusCode: 200, Duration: time.Nanosecond})
	inv.Record(transport.Observation{Method: "GET", URL: u2, StatusCode: 200, Duration: 3 * time.Nanosecond})
	for _, e := range inv.Snapshot().Entries {
		if e.Route == "/one" && (e.Latency.MinMs != 1e-6 || e.Latency.MaxMs != 3e-6) {
			t.Fatalf("calls of 1 and 3 ns: %+v", e.Latency)
		}
	}
}
