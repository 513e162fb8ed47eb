package transport_test

import (
	"log/slog"
	"net/http"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestInventoryAndAuditNextReturnsNothing: a next transport that breaks
// the http.RoundTripper contract, returning neither a response nor an
// error (a bug in a caller's layer or base transport), made the inventory
// layer panic on the call's goroutine (a nil dereference of its own, not
// the panic of a layer below it, so not even counted), and the audit layer
// write a record with neither a status nor an error and hand the nil
// response on. Both now take it for a failed call, as the retry layer and
// net/http's Client do: an error is returned, counted and recorded.
func TestInventoryAndAuditNextReturnsNothing(t *testing.T) {
	nothing := transporttest.RoundTripperFunc(func(*http.Request) (*http.Response, error) { return nil, nil })
	inv := newInventory(t, transport.InventoryConfig{})
	il, err := transport.NewInventoryLayer(nothing, inv)
	if err != nil {
		t.Fatal(err)
	}
	var log auditLog
	rt := auditLayer(t, il, transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
	var resp *http.Response
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("RoundTrip panicked: %v", r)
			}
		}()
		resp, err = rt.RoundTrip(req)
	}()
	if err == nil || resp != nil {
		t.Fatalf("RoundTrip = %v, %v; want no response and an error", resp, err)
	}
	if e, ok := findEntry(inv.Snapshot(), "GET", "https://api.example.test:443", "/x"); !ok || e.Status["error"] != 1 {
		t.Errorf("inventory entry %+v (found %v): want 1 error", e, ok)
	}
	recs := log.records(t)
	if len(recs) != 1 || recs[0]["error.type"] == nil || recs[0]["error.message"] == nil {
		t.Errorf("audit records %v: want one with error.type and error.message", recs)
	}

	// The audit layer alone.
	var alone auditLog
	rt = auditLayer(t, nothing, transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(&alone, nil))})
	if resp, err := rt.RoundTrip(req); err == nil || resp != nil {
		t.Errorf("audit alone: RoundTrip = %v, %v; want no response and an error", resp, err)
	}
	if recs := alone.records(t); len(recs) != 1 || recs[0]["error.type"] == nil {
		t.Errorf("audit alone: records %v: want one with error.type", recs)
	}
}
