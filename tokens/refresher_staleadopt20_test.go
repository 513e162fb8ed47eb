package tokens

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// sharedOldCopyStore is a Secret Service keyring two Refreshers share:
// its first Set stores the new value but cannot delete the older item
// (ErrStaleCopy); a Get serves the newest item; later writes leave no old
// copy.
type sharedOldCopyStore struct {
	mu   sync.Mutex
	cur  string
	sets int
}

func (s *sharedOldCopyStore) Get(context.Context, string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return []byte(s.cur), nil
}

func (s *sharedOldCopyStore) Set(_ context.Context, key string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sets++
	s.cur = string(v)
	if s.sets == 1 {
		return &StoreError{Backend: "keyring", Op: "set", Key: key, Err: ErrLocked,
			Cause: fmt.Errorf("%w (an older item of the key could not be deleted): %w", ErrStaleCopy, errDismissed19)}
	}
	return nil
}

func (s *sharedOldCopyStore) Delete(context.Context, string) error { return nil }

// TestRefresherAdoptsOtherReplicaRotationAfterStaleCopy: after a write
// that left an old copy (ErrStaleCopy), the Refresher stopped reading its
// store before a refresh altogether (d36b12d), so a refresh token another
// Refresher sharing the store rotated since (a replica, a second client of
// the process) was never adopted: the next refresh sent the rotated-away
// one, invalid_grant, and with reuse detection the whole grant revoked.
// Only a refresh token this Refresher itself rotated away (what the old
// copy can be) is refused; a newer value read from the store is adopted.
func TestRefresherAdoptsOtherReplicaRotationAfterStaleCopy(t *testing.T) {
	as, _ := rotatingAS(t)
	ctx := context.Background()
	store := &sharedOldCopyStore{cur: "rt-0"}
	cfg := as.config(ClientSecretBasic(StaticSecret([]byte("s"))))
	a, err := NewRefresher(cfg, store, "refresh", WithRefresherErrorHandler(func(error) {}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewRefresher(cfg, store, "refresh", WithRefresherErrorHandler(func(error) {}))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range []struct {
		r        *Refresher
		name     string
		sent, at string
	}{
		{a, "A", "rt-0", "at-1"}, // writes rt-1, rt-0 left beside it
		{b, "B", "rt-1", "at-2"}, // reads rt-1, writes rt-2 (no old copy)
		{a, "A", "rt-2", "at-3"}, // must adopt B's rt-2
	} {
		tok, err := s.r.Token(ctx)
		if got := as.lastForm().Get("refresh_token"); got != s.sent {
			t.Errorf("step %d: %s sent %q, want %q", i+1, s.name, got, s.sent)
		}
		if err != nil || tok.Value() != s.at {
			t.Fatalf("step %d: %s Token = %v, %v; want %s", i+1, s.name, tok, err, s.at)
		}
	}
}
