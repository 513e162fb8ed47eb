package client_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
)

// keySource is a caller's caching key source: it keeps the key it read
// until told, through tokens.Invalidator, that a server rejected it.
type keySource struct {
	mu      sync.Mutex
	store   string // the key in the backing store
	cached  string
	reads   int
	invalid []string
}

func (s *keySource) Token(context.Context) (tokens.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached == "" {
		s.cached = s.store
		s.reads++
	}
	return tokens.NewToken(s.cached, "", time.Time{}), nil
}

func (s *keySource) Invalidate(t tokens.Token) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invalid = append(s.invalid, t.Value())
	if s.cached != t.Value() {
		return false
	}
	s.cached = ""
	return true
}

// TestCachingSourceOfCallerInvalidatedOn401: a source of the caller's
// that caches itself (implements tokens.Invalidator, as a *tokens.Cache
// does) was put behind a tokens.Cache of the client's, whose Invalidate
// never reaches it: after a 401 the client's Cache asked the source again
// and got the rejected key back from the source's own cache, so a key
// rotated in the store was never picked up (401 for good), where
// transport.NewAPIKey had invalidated the caller's source itself until
// WithAPIKey's source was cached (9f73840). Such a source is now used as
// it is, its Invalidate called on a 401 and the request replayed once.
func TestCachingSourceOfCallerInvalidatedOn401(t *testing.T) {
	var mu sync.Mutex
	current := "key-1"
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got := r.Header.Get("X-Partner-Key") + r.URL.Query().Get("key")
		if b := r.Header.Get("Authorization"); b != "" {
			got = strings.TrimPrefix(b, "Bearer ")
		}
		if got != current {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name string
		opt  func(tokens.Source) client.Option
	}{
		{"WithAPIKey", func(s tokens.Source) client.Option { return client.WithAPIKey("X-Partner-Key", s) }},
		{"WithAPIKeyInQuery", func(s tokens.Source) client.Option { return client.WithAPIKeyInQuery("key", s) }},
		{"WithTokenSource", func(s tokens.Source) client.Option { return client.WithTokenSource(s) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			current = "key-1"
			mu.Unlock()
			src := &keySource{store: "key-1"}
			c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), tc.opt(src))...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
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
			for range 3 {
				if s := get(); s != http.StatusOK {
					t.Fatalf("status %d", s)
				}
			}
			mu.Lock()
			current = "key-2" // rotated
			mu.Unlock()
			src.mu.Lock()
			src.store = "key-2"
			src.mu.Unlock()
			if s := get(); s != http.StatusOK {
				src.mu.Lock()
				t.Errorf("after a rotation: status %d, want 200 from the replay with the new key (source invalidated with %q, read %d times)", s, src.invalid, src.reads)
				src.mu.Unlock()
			}
			src.mu.Lock()
			defer src.mu.Unlock()
			if len(src.invalid) != 1 || src.invalid[0] != "key-1" {
				t.Errorf("source invalidated with %q, want [key-1]", src.invalid)
			}
			if src.reads != 2 {
				t.Errorf("source read the store %d times, want 2", src.reads)
			}
		})
	}
}
