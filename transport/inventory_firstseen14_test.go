package transport_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// TestInventoryFirstSeenIsTheEarliestCall: calls end concurrently and are
// recorded in any order; FirstSeen is the earliest end recorded, not the
// first recorded, so it is never after LastSeen (which moves in steps of
// a millisecond).
func TestInventoryFirstSeenIsTheEarliestCall(t *testing.T) {
	inv, err := transport.NewInventory(transport.InventoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("https://api.example.test/v1/x")
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	for _, at := range []time.Time{t0.Add(500 * time.Microsecond), t0} { // the later end recorded first
		inv.Record(transport.Observation{Method: http.MethodGet, URL: u, StatusCode: 200, Duration: time.Millisecond, At: at})
	}
	s := inv.Snapshot()
	if len(s.Entries) != 1 {
		t.Fatalf("%d entries, want 1", len(s.Entries))
	}
	e := s.Entries[0]
	if !e.FirstSeen.Equal(t0) {
		t.Errorf("FirstSeen = %v, want the earliest call's end %v", e.FirstSeen, t0)
	}
	if e.FirstSeen.After(e.LastSeen) {
		t.Errorf("FirstSeen %v after LastSeen %v", e.FirstSeen, e.LastSeen)
	}
}
