package tokens

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestCachePersistedTokenOfAnotherConfigNotUsed: a restarted service
// read its persisted token back and served it while it was valid, without
// asking what it was issued for. After a deploy that changed the scopes
// (or the client, the token endpoint, the audience), the token of the old
// configuration was sent until it expired: its 403 insufficient_scope
// answers keep the token (the auth layer does not invalidate on them), so
// every call failed for up to the token's lifetime. A ClientCredentials'
// or Refresher's token is now persisted with a digest of what it was
// asked with (token URL, client id, scopes, endpoint parameters; the
// Refresher's refresh token key), and one persisted for another is not
// used: the source is asked. The same configuration still reuses it.
func TestCachePersistedTokenOfAnotherConfigNotUsed(t *testing.T) {
	ctx := context.Background()
	var n atomic.Int32
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		issue(w, fmt.Sprintf("at-%d", n.Add(1)), "")
	})
	store := NewMemoryStore()
	token := func(scopes []string, params url.Values) string {
		t.Helper()
		cfg := as.config(ClientSecretBasic(StaticSecret([]byte("s"))))
		cfg.Scopes, cfg.EndpointParams = scopes, params
		cc, err := NewClientCredentials(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c := mustCache(t, cc, WithPersistence(store, "access-token"))
		defer c.Close()
		tok, err := c.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// The token is persisted after Token returns: wait for it.
		for i := 0; ; i++ {
			if b, err := store.Get(ctx, "access-token"); err == nil && strings.Contains(string(b), `"`+tok.Value()+`"`) {
				break
			}
			if i == 60000 {
				t.Fatalf("%s never persisted", tok.Value())
			}
			time.Sleep(time.Millisecond)
		}
		return tok.Value()
	}
	if got := token([]string{"api.read"}, nil); got != "at-1" {
		t.Fatalf("first run: %q, want at-1", got)
	}
	if got := token([]string{"api.read"}, nil); got != "at-1" {
		t.Fatalf("restart, same configuration: %q, want the persisted at-1", got)
	}
	if got := token([]string{"api.read", "api.write"}, nil); got != "at-2" {
		t.Fatalf("restart with another scope: %q, want a new token at-2, not the persisted one", got)
	}
	if got := token([]string{"api.read", "api.write"}, url.Values{"audience": {"https://billing"}}); got != "at-3" {
		t.Fatalf("restart with another audience: %q, want a new token at-3", got)
	}
	if got := token([]string{"api.read", "api.write"}, url.Values{"audience": {"https://billing"}}); got != "at-3" {
		t.Fatalf("restart, same configuration: %q, want the persisted at-3", got)
	}
}
