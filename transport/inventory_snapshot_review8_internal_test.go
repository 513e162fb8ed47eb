package transport

import (
	"net/url"
	"testing"
	"time"
)

// TestInventorySnapshotNeverShowsAHalfRecordedCall: a snapshot taken
// while a call is being recorded (the handler, a metric collection) may
// miss that call, but an entry it shows has the times and latency of
// every call it counts: not a first_seen of year 1, a last_seen of 1970
// or a latency count below the calls, as when the status counter was
// bumped before the rest of the call was stored.
func TestInventorySnapshotNeverShowsAHalfRecordedCall(t *testing.T) {
	inv, err := NewInventory(InventoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer inv.Close()
	u, _ := url.Parse("https://api.example.test/x")
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var snap InventorySnapshot
	fired := false
	testHookLastSeen = func() {
		if !fired {
			fired = true
			snap = inv.Snapshot()
		}
	}
	t.Cleanup(func() { testHookLastSeen = nil })
	inv.Record(Observation{Method: "GET", URL: u, StatusCode: 200, Duration: 5 * time.Millisecond, At: at})
	if !fired {
		t.Fatal("hook not reached")
	}
	for _, e := range snap.Entries {
		if !e.FirstSeen.Equal(at) || !e.LastSeen.Equal(at) || e.Latency.Count < e.Calls || e.Latency.MaxMs != 5 || e.Latency.MinMs != 5 {
			t.Errorf("entry with %d calls: first %v, last %v, latency %+v; want the call's time and latency", e.Calls, e.FirstSeen, e.LastSeen, e.Latency)
		}
	}
}
