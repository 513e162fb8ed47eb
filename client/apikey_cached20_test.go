package client_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
)

// TestAPIKeySourceCachedAndRotatedOn401: WithAPIKey asked its source on
// every attempt, so a key kept in the OS keyring (tokens.StoreSource, the
// documented way to keep one) cost a D-Bus round trip, or a keyring
// prompt, per request, while WithTokenSource put its source behind a
// tokens.Cache; and a 401 after the key was rotated in the store could not
// be recovered (the source is no Invalidator). The key source is now
// cached as a token source is: asked once for many calls, asked again
// when the origin answers 401 (the request replayed once with the new
// key), and the cache closed with the client.
func TestAPIKeySourceCachedAndRotatedOn401(t *testing.T) {
	var current atomic.Value
	current.Store("key-1")
	var asked atomic.Int32
	src := tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
		asked.Add(1)
		return tokens.NewToken(current.Load().(string), "", time.Time{}), nil
	})
	var seen []string
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("X-Partner-Key") + r.URL.Query().Get("key")
		seen = append(seen, got)
		if got != current.Load().(string) {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	for _, opt := range []client.Option{client.WithAPIKey("X-Partner-Key", src), client.WithAPIKeyInQuery("key", src)} {
		asked.Store(0)
		current.Store("key-1")
		seen = nil
		c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), opt)...)
		if err != nil {
			t.Fatal(err)
		}
		get := func() int {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1", nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		for range 5 {
			if s := get(); s != http.StatusOK {
				t.Fatalf("status %d", s)
			}
		}
		if n := asked.Load(); n != 1 {
			t.Errorf("source asked %d times for 5 calls, want 1 (cached)", n)
		}
		current.Store("key-2") // rotated in the store
		if s := get(); s != http.StatusOK {
			t.Errorf("after a rotation: status %d, want the replay with the new key to succeed (seen %v)", s, seen)
		}
		if n := asked.Load(); n != 2 {
			t.Errorf("source asked %d times after the 401, want 2", n)
		}
		if want := fmt.Sprint([]string{"key-1", "key-1", "key-1", "key-1", "key-1", "key-1", "key-2"}); fmt.Sprint(seen) != want {
			t.Errorf("keys sent %v, want %s", seen, want)
		}
		c.Close()
	}
}
