package transport

import (
	"net/url"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// Two calls of one entry ending at nearly the same time: the one that read
// last-seen first but stores it last must not move it back to its earlier
// reading. The second call is recorded inside the first one's window
// between reading and updating last-seen.
func TestInventoryLastSeenNeverGoesBack(t *testing.T) {
	inv, err := NewInventory(InventoryConfig{MeterProvider: sdkmetric.NewMeterProvider()})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("https://api.example.test/x")
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	inv.Record(Observation{Method: "GET", URL: u, StatusCode: 200, At: base})
	early := base.Add(2 * time.Millisecond)
	late := early.Add(5 * time.Microsecond)
	fired := false
	testHookLastSeen = func() {
		if !fired {
			fired = true
			inv.Record(Observation{Method: "GET", URL: u, StatusCode: 200, At: late})
		}
	}
	t.Cleanup(func() { testHookLastSeen = nil })
	inv.Record(Observation{Method: "GET", URL: u, StatusCode: 200, At: early})
	if !fired {
		t.Fatal("hook not reached")
	}
	e := inv.Snapshot().Entries[0]
	if e.Calls != 3 || !e.LastSeen.Equal(late) {
		t.Fatalf("calls %d, LastSeen %v, want %v (the later call's end)", e.Calls, e.LastSeen, late)
	}
}
