package transport_test

import (
	"errors"
	"net/url"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestInventoryRelativeURLIsInvalidOrigin: a request URL without a scheme
// or a host (http.NewRequest("GET", "/users/1", nil), "api.example.com/x"
// without its scheme, "https:///x"), which the egress check refuses and
// the inventory records, has no usable origin: it goes under "_invalid"
// (no scheme, host or port), as inventory.md says of a URL whose scheme is
// not made of scheme characters; it was recorded under made-up origins,
// "://:", "://api.example.com:" and "https://:443", with an empty
// url.scheme or server.address in the metrics.
func TestInventoryRelativeURLIsInvalidOrigin(t *testing.T) {
	inv := newInventory(t, transport.InventoryConfig{})
	for _, u := range []*url.URL{
		{Path: "/users/1"},
		{Host: "api.example.test", Path: "/users/1"},
		{Scheme: "https", Path: "/users/1"},
		{Scheme: "https", Host: ":443", Path: "/users/1"},
		{Scheme: "https", Host: "[]", Path: "/users/1"},
	} {
		inv.Record(transport.Observation{Method: "GET", URL: u, Err: errors.New("refused")})
	}
	// A usable origin is still one.
	inv.Record(transport.Observation{Method: "GET", URL: &url.URL{Scheme: "https", Host: "api.example.test", Path: "/users/1"}, StatusCode: 200})
	snap := inv.Snapshot()
	for _, e := range snap.Entries {
		if e.Origin == "_invalid" {
			if e.Calls != 5 || e.Scheme != "" || e.Host != "" || e.Port != 0 {
				t.Errorf("_invalid entry %+v: want 5 calls, no scheme, host or port", e)
			}
			continue
		}
		if e.Origin != "https://api.example.test:443" || e.Calls != 1 {
			t.Errorf("entry %q (%d calls): want only _invalid and https://api.example.test:443", e.Origin, e.Calls)
		}
	}
	if len(snap.Entries) != 2 {
		t.Errorf("%d entries, want 2", len(snap.Entries))
	}
}
