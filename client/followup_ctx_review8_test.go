package client_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// fuRig is a client with an audit log and an inventory.
type fuRig struct {
	c     *client.Client
	inv   *transport.Inventory
	mu    sync.Mutex
	audit bytes.Buffer
}

func newFURig(t *testing.T, more ...client.Option) *fuRig {
	t.Helper()
	g := &fuRig{}
	var err error
	if g.inv, err = transport.NewInventory(transport.InventoryConfig{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.inv.Close() })
	g.c, err = client.New(opts(loopback(), append([]client.Option{
		client.WithInventory(g.inv),
		client.WithAuditLog(slog.New(slog.NewJSONHandler(lockedWriter{&g.mu, &g.audit}, nil))),
	}, more...)...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.c.Close() })
	return g
}

// auths returns the auth of each audit record, in order.
func (g *fuRig) auths(t *testing.T) []string {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for line := range strings.SplitSeq(strings.TrimSpace(g.audit.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m[transport.AuditAuth].(string))
	}
	return out
}

// invAuth returns the Auth of the inventory entry for origin.
func (g *fuRig) invAuth(origin string) []string {
	for _, e := range g.inv.Snapshot().Entries {
		if e.Origin == origin {
			return e.Auth
		}
	}
	return nil
}

func fuGet(t *testing.T, c *client.Client, req *http.Request) *http.Response {
	t.Helper()
	resp, err := c.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// A call made with the context of an earlier call's response request
// (resp.Request.Context(), a common pattern) is a call of its own: its
// audit record and inventory entry carry its own credential marks, not the
// earlier call's, even for the same URL through another client, and even
// while the earlier call's body is still open; the earlier call's record
// gets none of the later call's marks.
func TestFollowUpCallWithResponseRequestContextHasItsOwnRecord(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	a, b := newTLSServer(t, h), newTLSServer(t, h)
	token := client.WithTokenSource(tokens.Static(tokens.NewToken("CANARY-fu-token", "Bearer", time.Time{})))

	t.Run("other origin, same client", func(t *testing.T) {
		g := newFURig(t, client.WithOrigins(a.URL), client.WithEgressAllowlist(b.URL), token)
		req1, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, a.URL+"/one", nil)
		resp1 := fuGet(t, g.c, req1)
		req2, _ := http.NewRequestWithContext(resp1.Request.Context(), http.MethodGet, b.URL+"/two", nil)
		resp2 := fuGet(t, g.c, req2)
		_, _ = io.Copy(io.Discard, resp2.Body)
		resp2.Body.Close()
		_, _ = io.Copy(io.Discard, resp1.Body)
		resp1.Body.Close()
		if got := g.auths(t); len(got) != 2 || got[0] != "bearer" || got[1] != "none" {
			t.Errorf("audit auths %v, want [bearer none]", got)
		}
		if got := g.invAuth(b.URL); len(got) != 1 || got[0] != "none" {
			t.Errorf("inventory auth of the second origin %v, want [none]", got)
		}
		if got := g.invAuth(a.URL); len(got) != 1 || got[0] != "bearer" {
			t.Errorf("inventory auth of the first origin %v, want [bearer]", got)
		}
	})

	t.Run("same URL, other client", func(t *testing.T) {
		g1 := newFURig(t, client.WithOrigins(a.URL), token)
		g2 := newFURig(t, client.WithEgressAllowlist(a.URL))
		req1, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, a.URL+"/same", nil)
		resp1 := fuGet(t, g1.c, req1)
		req2, _ := http.NewRequestWithContext(resp1.Request.Context(), http.MethodGet, a.URL+"/same", nil)
		resp2 := fuGet(t, g2.c, req2)
		_, _ = io.Copy(io.Discard, resp2.Body)
		resp2.Body.Close()
		_, _ = io.Copy(io.Discard, resp1.Body)
		resp1.Body.Close()
		if got := g1.auths(t); len(got) != 1 || got[0] != "bearer" {
			t.Errorf("first client's audit auths %v, want [bearer]", got)
		}
		if got := g2.auths(t); len(got) != 1 || got[0] != "none" {
			t.Errorf("second client's audit auths %v, want [none]", got)
		}
		for _, e := range g2.inv.Snapshot().Entries {
			if len(e.Auth) != 1 || e.Auth[0] != "none" {
				t.Errorf("second client's inventory %s %s auth %v, want [none]", e.Origin, e.Route, e.Auth)
			}
		}
	})
}
