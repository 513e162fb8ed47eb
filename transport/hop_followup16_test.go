package transport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/securecall/securecall/transport"
)

// redirectingServer answers /old with a 302 to /new and every other path
// with 200.
func redirectingServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusFound)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// syncBuffer is a bytes.Buffer for a slog handler.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) routes(t *testing.T) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(b.b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		s, _ := m[transport.AuditRoute].(string)
		out = append(out, s)
	}
	return out
}

// TestFollowUpFromRedirectedCallKeepsRoute: a new call built from a
// redirected call's response (resp.Request.Clone, a next page or a poll)
// keeps Response, which Clone copies, but is no redirect hop: the route it
// is named with (WithRoute) is the one the inventory and the audit log
// record, through http.Client and through the stack's RoundTrip alike.
// Only the hop http.Client sends after a redirect response the stack
// returned is recorded under its own path.
func TestFollowUpFromRedirectedCallKeepsRoute(t *testing.T) {
	srv := redirectingServer(t)
	inv := newInventory(t, transport.InventoryConfig{})
	var logs syncBuffer
	audit, err := transport.NewAudit(inventoryLayer(t, http.DefaultTransport, inv), transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: audit}
	req, _ := http.NewRequestWithContext(transport.WithRoute(context.Background(), "/first/{x}"), http.MethodGet, srv.URL+"/old", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.Response == nil {
		t.Fatal("resp.Request of a redirected call has no Response: nothing to check")
	}
	for _, send := range []func(*http.Request) (*http.Response, error){hc.Do, audit.RoundTrip} {
		next := resp.Request.Clone(transport.WithRoute(context.Background(), "/poll/{x}"))
		next.URL.Path = "/poll/abc"
		r, err := send(next)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
	}
	origin := srv.URL
	snap := inv.Snapshot()
	poll, ok := findEntry(snap, http.MethodGet, origin, "/poll/{x}")
	if !ok || poll.Calls != 2 {
		for _, e := range snap.Entries {
			t.Errorf("entry %s %s: %d calls", e.Method, e.Route, e.Calls)
		}
		t.Fatal("want the two follow-ups under their route /poll/{x}")
	}
	if e, ok := findEntry(snap, http.MethodGet, origin, "/new"); !ok || e.Calls != 1 {
		t.Errorf("the hop: entry %+v (found %v), want /new, 1 call", e, ok)
	}
	want := []string{"/first/{x}", "/new", "/poll/{x}", "/poll/{x}"}
	if got := logs.routes(t); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("audit routes %q, want %q", got, want)
	}
}
