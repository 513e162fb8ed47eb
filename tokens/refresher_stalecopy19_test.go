package tokens

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// staleCopyStore stores every Set and then fails as the Secret Service
// keyring does when an older item of the key cannot be deleted (a
// KeePassXC confirmation prompt dismissed): ErrLocked, with ErrStaleCopy
// saying the new value is stored.
type staleCopyStore struct{ *MemoryStore }

var errDismissed19 = errors.New("the keyring's prompt was dismissed")

func (s staleCopyStore) Set(ctx context.Context, key string, value []byte) error {
	if err := s.MemoryStore.Set(ctx, key, value); err != nil {
		return err
	}
	return &StoreError{Backend: "keyring", Op: "set", Key: key, Err: ErrLocked,
		Cause: fmt.Errorf("%w (an older item of the key could not be deleted): %w", ErrStaleCopy, errDismissed19)}
}

// A rotated refresh token the store did keep, though it could not delete
// an old copy beside it, must not fail the refresh: it did (the error was
// taken for a failed write), and so did every later refresh while the
// deletion kept failing. Token now serves the access token and reports
// the error, on which errors.Is still finds ErrLocked and the cause.
func TestRefresherStaleCopyKeepsServing(t *testing.T) {
	as, _ := rotatingAS(t)
	ctx := context.Background()
	mem := NewMemoryStore()
	if err := mem.Set(ctx, "refresh", []byte("rt-0")); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var reported []error
	r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), staleCopyStore{mem}, "refresh",
		WithRefresherErrorHandler(func(err error) {
			mu.Lock()
			defer mu.Unlock()
			reported = append(reported, err)
		}))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		tok, err := r.Token(ctx)
		if err != nil || tok.Value() != fmt.Sprintf("at-%d", i) {
			t.Fatalf("rotation %d: Token = %v, %v; want at-%d", i, tok, err, i)
		}
		if got, want := as.lastForm().Get("refresh_token"), fmt.Sprintf("rt-%d", i-1); got != want {
			t.Fatalf("rotation %d used %q, want %q", i, got, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 3 {
		t.Fatalf("handler called %d times, want once per rotation (3): %v", len(reported), reported)
	}
	for _, err := range reported {
		if !errors.Is(err, ErrStaleCopy) || !errors.Is(err, ErrLocked) || !errors.Is(err, errDismissed19) {
			t.Fatalf("reported %v, want ErrStaleCopy, ErrLocked and the cause", err)
		}
	}
}
