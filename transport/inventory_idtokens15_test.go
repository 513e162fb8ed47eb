package transport_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/transport"
)

// A number inside a segment, after a word ("customer-1234"), as a matrix
// parameter ("users;id=1234") or before an extension ("1234.json"), is an
// identifier too: left in the route, every one of them made an entry of
// its own, 10 000 of them for four digits, and past MaxEntries every
// endpoint called afterwards went to the overflow entry.
func TestNormalizePathFoldsNumbersInsideSegments(t *testing.T) {
	for in, want := range map[string]string{
		"/customers/customer-1234":        "/customers/customer-{id}",
		"/customers/customer_9876/orders": "/customers/customer_{id}/orders",
		"/users;id=1234/profile":          "/users;id={id}/profile",
		"/cars;year=1999":                 "/cars;year={id}",
		"/items/42.json":                  "/items/{id}.json",
		"/api/v1/ec2-instances":           "/api/v1/ec2-instances",
		"/oauth2/token":                   "/oauth2/token",
		"/api/x509-certs":                 "/api/x509-certs",
	} {
		if got := transport.NormalizePath(in); got != want {
			t.Errorf("NormalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInventoryNumbersInsideSegmentsOneEntry(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	inv := newInventory(t, transport.InventoryConfig{MaxEntries: 10})
	c := &http.Client{Transport: inventoryLayer(t, srv.Client().Transport, inv)}
	const n = 30
	for i := range n {
		for _, u := range []string{fmt.Sprintf("/customers/customer-%d", 1000+i), fmt.Sprintf("/users;id=%d/profile", 1000+i), fmt.Sprintf("/items/%d.json", 10+i)} {
			resp, err := c.Get(srv.URL + u)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	if hits.Load() != 3*n {
		t.Fatalf("server got %d requests, want %d", hits.Load(), 3*n)
	}
	snap := inv.Snapshot()
	got := map[string]uint64{}
	for _, e := range snap.Entries {
		got[e.Route] += e.Calls
	}
	want := map[string]uint64{"/customers/customer-{id}": n, "/users;id={id}/profile": n, "/items/{id}.json": n}
	if len(got) != len(want) {
		t.Fatalf("routes = %v, want %v", got, want)
	}
	for r, c := range want {
		if got[r] != c {
			t.Fatalf("routes = %v, want %v", got, want)
		}
	}
}

// A dotted API version is a name, not an identifier: folding its numbers
// token by token named every version one route ("/api/v1.{id}/items" for
// v1.2 and v1.3 alike), and "/1.1/statuses" became "/{id}.{id}/statuses".
func TestNormalizePathKeepsDottedVersions(t *testing.T) {
	for in, want := range map[string]string{
		"/api/v1.2/items":     "/api/v1.2/items",
		"/V2.0.1/x":           "/V2.0.1/x",
		"/1.1/statuses":       "/1.1/statuses",
		"/api/v10.250/x":      "/api/v10.250/x",
		"/items/42.json":      "/items/{id}.json",
		"/items/123456.7890":  "/items/{id}",
		"/items/v1.":          "/items/v1.",
		"/items/1234.5/price": "/items/{id}/price",
	} {
		if got := transport.NormalizePath(in); got != want {
			t.Errorf("NormalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// A short number inside a word is part of a name ("gpt-4", "sha-256",
// "utf-8"): folding every digit run made different endpoints share one
// entry. A longer one (four digits or more), a parameter's value after "="
// and a number named before its extension are still identifiers. A dotted
// version with long groups ("v1.10.100") is checked as a version before
// the whole-segment rules, which took it for an identifier; an IPv4
// address (four groups) is no version.
func TestNormalizePathKeepsShortNumbersInNames(t *testing.T) {
	for in, want := range map[string]string{
		"/models/gpt-4/completions": "/models/gpt-4/completions",
		"/digest/sha-256":           "/digest/sha-256",
		"/charset/utf-8":            "/charset/utf-8",
		"/customers/customer-1234":  "/customers/customer-{id}",
		"/users;id=7/profile":       "/users;id={id}/profile",
		"/items/7.json":             "/items/{id}.json",
		"/api/v1.10.100/x":          "/api/v1.10.100/x",
		"/ip/8.8.8.8":               "/ip/{id}",
		"/ip/10.1.2.3/info":         "/ip/{id}/info",
	} {
		if got := transport.NormalizePath(in); got != want {
			t.Errorf("NormalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}
