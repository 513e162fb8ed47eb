package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// TestFollowUpFromRedirectedCallKeepsRoute: a new call built from a
// redirected call's response (resp.Request.Clone, a next page or a poll)
// keeps Response, which Clone copies, but is no redirect hop of the
// earlier call: the inventory and the audit log record it under the route
// it is named with (WithRoute), through HTTPClient and Transport, and so
// does the audit log when it is refused after Close (through Do too). The
// earlier call's hop is recorded under its own path.
func TestFollowUpFromRedirectedCallKeepsRoute(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusFound)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	var mu sync.Mutex
	var logs bytes.Buffer
	c, err := client.New(client.WithOrigins(srv.URL), client.WithAuditLog(slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hc, rt := c.HTTPClient(), c.Transport()
	req, _ := http.NewRequestWithContext(transport.WithRoute(context.Background(), "/first/{x}"), http.MethodGet, srv.URL+"/old", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.Response == nil {
		t.Fatal("resp.Request of a redirected call has no Response: nothing to check")
	}
	next := func() *http.Request {
		r := resp.Request.Clone(transport.WithRoute(context.Background(), "/next/{x}"))
		r.URL.Path = "/next/abc"
		return r
	}
	for _, send := range []func(*http.Request) (*http.Response, error){hc.Do, rt.RoundTrip} {
		r, err := send(next())
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
	}
	entries := c.Inventory().Snapshot().Entries
	var calls uint64
	for _, e := range entries {
		if e.Route == "/next/{x}" {
			calls = e.Calls
		}
	}
	if calls != 2 {
		for _, e := range entries {
			t.Errorf("entry %s %s: %d calls", e.Method, e.Route, e.Calls)
		}
		t.Fatal("want the two follow-ups under their route /next/{x}")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, send := range []func(*http.Request) (*http.Response, error){c.Do, hc.Do, rt.RoundTrip} {
		if r, err := send(next()); !errors.Is(err, client.ErrClosed) {
			if err == nil {
				r.Body.Close()
			}
			t.Fatalf("follow-up after Close: err = %v, want ErrClosed", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var routes []string
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		s, _ := m[transport.AuditRoute].(string)
		routes = append(routes, s)
	}
	want := []string{"/first/{x}", "/new", "/next/{x}", "/next/{x}", "/next/{x}", "/next/{x}", "/next/{x}"}
	if strings.Join(routes, " ") != strings.Join(want, " ") {
		t.Errorf("audit routes %q, want %q", routes, want)
	}
}
