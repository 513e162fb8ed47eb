package client_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// TestInventoryKeepsCallersRoute: a call named with transport.WithRoute
// (or made from a Template) is recorded under that route, through Do and
// through Transport. The call trace's per-call scope carries the call
// record and hides the route from calls made below it (token fetches); it
// hid it from the record's own set-up too, which set the record's URL
// before reading the route, so every call of a client.New stack was
// recorded under its normalised path ("/tmpl/abc") instead.
func TestInventoryKeepsCallersRoute(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	c, err := client.New(client.WithOrigins(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := transport.WithRoute(context.Background(), "/tmpl/{x}")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/tmpl/abc", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/tmpl/def", nil)
	if resp, err = c.Transport().RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tmpl := transport.MustParseTemplate("/tmpl/{x}")
	if req, err = tmpl.NewRequest(context.Background(), http.MethodGet, srv.URL, nil, "ghi"); err != nil {
		t.Fatal(err)
	}
	if resp, err = c.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	entries := c.Inventory().Snapshot().Entries
	if len(entries) != 1 || entries[0].Route != "/tmpl/{x}" || entries[0].Calls != 3 {
		for _, e := range entries {
			t.Errorf("entry %s %s: %d calls", e.Method, e.Route, e.Calls)
		}
		t.Fatal("want one entry, GET /tmpl/{x}, 3 calls")
	}
}
