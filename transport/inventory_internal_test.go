package transport

import (
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
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

// TestInventoryOverflowTakesNoLock: once the inventory is full, a call of
// a new (method, origin, route) lands in the overflow entry without
// taking the insertion lock, so a flood of distinct URLs (a path chosen
// by an attacker) does not serialise the callers.
func TestInventoryOverflowTakesNoLock(t *testing.T) {
	inv, err := NewInventory(InventoryConfig{MaxEntries: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer inv.Close()
	var locks atomic.Int64
	testHookInsertLocked = func() { locks.Add(1) }
	defer func() { testHookInsertLocked = nil }()
	u, _ := url.Parse("https://api.example.test/")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				inv.Record(Observation{URL: u, Route: fmt.Sprintf("/r%d/%d", g, i), StatusCode: 200})
			}
		}()
	}
	wg.Wait()
	if n := inv.Len(); n != 2 {
		t.Fatalf("Len = %d, want 2", n)
	}
	snap := inv.Snapshot()
	if last := snap.Entries[len(snap.Entries)-1]; !last.Overflow || last.Calls != 198 {
		t.Fatalf("overflow entry = %+v, want 198 calls", last)
	}
	// The two insertions, and at most one lock per goroutine that raced
	// them before the map was full.
	if n := locks.Load(); n < 2 || n > 2+4 {
		t.Fatalf("insertion lock taken %d times for 200 calls, want 2 to 6", n)
	}
}
