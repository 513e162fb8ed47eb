package transport_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// docs/errors.md says the methods of a zero value (not made by its
// constructor) return a *ConfigError instead of panicking. A zero
// Inventory's Record, Len, Snapshot, MarshalJSON and Handler dereferenced
// its nil entry map: an admin endpoint serving Handler() of a
// transport.Inventory{} crashed the request's goroutine. It now records
// nothing, reports no entry, MarshalJSON returns a *ConfigError naming
// Inventory, and Handler answers 500 saying it was not made by
// NewInventory.
func TestZeroInventory(t *testing.T) {
	var inv transport.Inventory
	u, _ := url.Parse("https://api.example/v1/items")
	inv.Record(transport.Observation{Method: http.MethodGet, URL: u, StatusCode: 200})
	inv.Record(transport.Observation{Method: http.MethodGet, URL: u, Route: "/v1/items", StatusCode: 200})
	if n := inv.Len(); n != 0 {
		t.Errorf("Len = %d, want 0", n)
	}
	if s := inv.Snapshot(); len(s.Entries) != 0 {
		t.Errorf("Snapshot has %d entries, want none", len(s.Entries))
	}
	b, err := inv.MarshalJSON()
	if b != nil {
		t.Errorf("MarshalJSON returned %q", b)
	}
	wantZeroConfigErr(t, "MarshalJSON", err, "Inventory")
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		rec := httptest.NewRecorder()
		inv.Handler().ServeHTTP(rec, httptest.NewRequest(m, "/inventory", nil))
		if rec.Code != http.StatusInternalServerError {
			t.Errorf("%s: status %d, want 500", m, rec.Code)
		}
		if m == http.MethodGet && !strings.Contains(rec.Body.String(), "NewInventory") {
			t.Errorf("%s: body %q does not say the inventory was not made by NewInventory", m, rec.Body.String())
		}
	}
	if err := inv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
