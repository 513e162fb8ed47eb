package tokens

import (
	"context"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
)

// hangAfterFirstGet answers its first Get, then hangs every later one
// until the caller gives up (a keyring or secret manager that stopped
// answering).
type hangAfterFirstGet struct {
	*MemoryStore
	gets atomic.Int32
}

func (s *hangAfterFirstGet) Get(ctx context.Context, key string) ([]byte, error) {
	if s.gets.Add(1) == 1 {
		return s.MemoryStore.Get(ctx, key)
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// The Refresher reads its store again before each later refresh, to take
// a refresh token another Refresher sharing the store rotated. That read
// is a check, not a need: a store that stopped answering held the
// refresh for the caller's whole deadline, and the refresh failed,
// although the refresh token in memory was good. The read gets a short
// bound of its own; past it the refresh goes on with the one in memory.
func TestRefresherStoreRereadBounded(t *testing.T) {
	var n atomic.Int32
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		n.Add(1)
		issue(w, "at", f.Get("refresh_token")) // not rotated
	})
	store := &hangAfterFirstGet{MemoryStore: NewMemoryStore()}
	store.MemoryStore.Set(context.Background(), "rt", []byte("rt-0"))
	r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), store, "rt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*refresherRereadTimeout)
	defer cancel()
	if _, err := r.Token(ctx); err != nil {
		t.Fatalf("second refresh with a store that stopped answering: %v", err)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("%d token requests, want 2", got)
	}
}
