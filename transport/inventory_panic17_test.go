package transport_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// A call whose layers below the inventory layer panicked (a bug in a
// caller's WithCallLayer layer or base transport, the request perhaps
// already executed by the server), recovered further up as net/http's
// server does, was not counted: the inventory lists every call, and the
// audit log and the call trace record such a call as failed. It is
// counted as an error (no status), last seen at its end, and the panic
// goes on unchanged.
func TestInventoryRecordsCallWhoseLayerPanics(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	inv := newInventory(t, transport.InventoryConfig{Now: func() time.Time { return now }})
	type bug struct{ msg string }
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		now = now.Add(3 * time.Millisecond)
		panic(bug{"base transport bug"})
	})
	for _, scoped := range []bool{false, true} {
		rt, err := transport.NewInventoryLayer(base, inv)
		if err != nil {
			t.Fatal(err)
		}
		if scoped {
			rt = transport.NewCallTrace(rt, transport.TraceConfig{})
		}
		func() {
			defer func() {
				if v, ok := recover().(bug); !ok || v.msg != "base transport bug" {
					t.Fatalf("recovered %v, want the panic's own value", v)
				}
			}()
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/p", nil)
			rt.RoundTrip(req)
		}()
	}
	s := inv.Snapshot()
	if len(s.Entries) != 1 {
		t.Fatalf("%d entries, want 1: %+v", len(s.Entries), s.Entries)
	}
	e := s.Entries[0]
	if e.Calls != 2 || e.Status["error"] != 2 || len(e.Status) != 1 {
		t.Fatalf("calls %d, status %v; want 2 calls, 2 errors", e.Calls, e.Status)
	}
	if !e.LastSeen.Equal(now) {
		t.Errorf("last seen %v, want %v", e.LastSeen, now)
	}
	if e.Latency.Count != 2 || e.Latency.MaxMs != 3 {
		t.Errorf("latency %+v, want 2 calls of 3 ms", e.Latency)
	}
	if len(e.TLS) != 0 {
		t.Errorf("tls %v of a call with no response", e.TLS)
	}
}
