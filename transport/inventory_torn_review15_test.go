package transport_test

import (
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// TestInventorySnapshotDuringRecordingIsConsistent: snapshots taken while
// many goroutines record calls of one entry, every call taking 10 ms, show
// figures that agree with each other: a mean, quantiles, min and max of
// 10 ms, last seen not before first seen.
func TestInventorySnapshotDuringRecordingIsConsistent(t *testing.T) {
	inv, err := transport.NewInventory(transport.InventoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer inv.Close()
	u, _ := url.Parse("https://api.example.test/x")
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				inv.Record(transport.Observation{Method: "GET", URL: u, Route: "/x", StatusCode: 200, Duration: 10 * time.Millisecond})
			}
		})
	}
	bad := 0
	for range 2000 {
		for _, e := range inv.Snapshot().Entries {
			l := e.Latency
			if l.MeanMs != 10 || l.MinMs != 10 || l.MaxMs != 10 || l.P50Ms != 10 || e.LastSeen.Before(e.FirstSeen) || l.Count < e.Calls {
				if bad++; bad < 5 {
					t.Errorf("calls %d, status %v, latency %+v, first %v last %v", e.Calls, e.Status, l, e.FirstSeen, e.LastSeen)
				}
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	if bad > 0 {
		t.Errorf("%d torn snapshots of 2000", bad)
	}
}
