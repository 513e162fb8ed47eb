package transport_test

import (
	"log/slog"
	"net/http"
	"net/url"
	"testing"

	"github.com/securecall/securecall/transport"
)

// opaqueCalls are calls whose URL.Opaque, set by hand (the way to send a
// path as written, "%2F" and all), is the request-target net/http sends:
// the route of each, none given, is that target's path normalised, as
// for a URL with a Path; URL.Path is empty.
var opaqueCalls = []struct{ opaque, route string }{
	{"/v1/users/12345/orders", "/v1/users/{id}/orders"},
	{"//api.example.com/v1/admin/delete", "/v1/admin/delete"},
	{"https://api.example.com/v1/files/a%2Fb?sig=secret", "/v1/files/{id}"},
	{"//api.example.com", "/"},
	{"//api.example.com?q=1", "/"},
	{"/v1/items?token=abc", "/v1/items"},
}

// TestInventoryOpaqueURLRoute: a call made with a hand-set URL.Opaque was
// recorded under "/", the normalised form of its empty Path, whatever it
// requested: "GET /v1/admin/delete" and "GET /v1/users/12345/orders" were
// one entry, GET "/". It is recorded under its request-target's path, and
// a call of an Opaque URL finds no entry by the spelling of another.
func TestInventoryOpaqueURLRoute(t *testing.T) {
	inv := newInventory(t, transport.InventoryConfig{})
	rt := inventoryLayer(t, &recordingRT{}, inv)
	for range 2 {
		for _, c := range opaqueCalls {
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/", nil)
			req.URL = &url.URL{Scheme: "https", Host: "api.example.com", Opaque: c.opaque}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	want := map[string]uint64{}
	for _, c := range opaqueCalls {
		want[c.route] += 2
	}
	got := map[string]uint64{}
	for _, e := range inv.Snapshot().Entries {
		got[e.Route] += e.Calls
	}
	if len(got) != len(want) {
		t.Errorf("routes %v, want %v", got, want)
	}
	for r, n := range want {
		if got[r] != n {
			t.Errorf("route %q: %d calls, want %d (all: %v)", r, got[r], n, got)
		}
	}
}

// TestAuditOpaqueURLRoute: the audit log's url.template of such a call is
// its request-target's path normalised, as the inventory's route.
func TestAuditOpaqueURLRoute(t *testing.T) {
	var log auditLog
	rt := auditLayer(t, &recordingRT{}, transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	for _, c := range opaqueCalls {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/", nil)
		req.URL = &url.URL{Scheme: "https", Host: "api.example.com", Opaque: c.opaque}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	recs := log.records(t)
	if len(recs) != len(opaqueCalls) {
		t.Fatalf("%d records, want %d", len(recs), len(opaqueCalls))
	}
	for i, c := range opaqueCalls {
		if got := recs[i][transport.AuditRoute]; got != c.route {
			t.Errorf("Opaque %q: %s = %v, want %q", c.opaque, transport.AuditRoute, got, c.route)
		}
	}
}
