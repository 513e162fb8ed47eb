package tokens

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// oldCopyStore is the Secret Service keyring after a Set that stored the
// new value but could not delete an older item of the key: both items
// are there, and a Get returns whichever the service lists first, here
// always the old one.
type oldCopyStore struct {
	mu  sync.Mutex
	old string // the item Set could not delete
	cur string
}

func (s *oldCopyStore) Get(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.old != "" {
		return []byte(s.old), nil
	}
	return []byte(s.cur), nil
}

func (s *oldCopyStore) Set(_ context.Context, key string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur = string(v)
	return &StoreError{Backend: "keyring", Op: "set", Key: key, Err: ErrLocked,
		Cause: fmt.Errorf("%w (an older item of the key could not be deleted): %w", ErrStaleCopy, errDismissed19)}
}

func (s *oldCopyStore) Delete(context.Context, string) error { return nil }

// After a write that left an old copy beside the rotated refresh token
// (ErrStaleCopy), the Refresher's read of the store before its next
// refresh (made to adopt a token another replica rotated) could return
// that old copy: the Refresher took it for a newer one, sent the
// rotated-away refresh token, and the server answered invalid_grant (a
// server with reuse detection revokes the whole grant). While the store
// may hold an old copy, the one in memory is used.
func TestRefresherIgnoresStaleCopyOnReread(t *testing.T) {
	as, _ := rotatingAS(t)
	ctx := context.Background()
	store := &oldCopyStore{old: "rt-0"}
	r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), store, "refresh",
		WithRefresherErrorHandler(func(error) {}))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		tok, err := r.Token(ctx)
		if err != nil || tok.Value() != fmt.Sprintf("at-%d", i) {
			t.Fatalf("refresh %d: Token = %v, %v; want at-%d", i, tok, err, i)
		}
		if got, want := as.lastForm().Get("refresh_token"), fmt.Sprintf("rt-%d", i-1); got != want {
			t.Fatalf("refresh %d sent %q, want %q", i, got, want)
		}
	}
}
