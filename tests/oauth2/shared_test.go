package oauth2

import (
	"context"
	"testing"
	"time"

	"github.com/securecall/securecall/tokens"
)

// Two Refreshers (two replicas, or two clients of one process) share one
// refresh token through one store and refresh in turn. Each must start
// from the refresh token the store holds, which the other rotated: one
// kept from its last refresh is dead, and fosite answers its reuse by
// revoking the whole grant, locking every replica out.
func TestRefreshersSharingAStoreTakeTurns(t *testing.T) {
	s := newAuthServer(t, time.Hour)
	ctx := context.Background()
	first := s.passwordToken(t, clientID, s.config(basicAuth()))
	files, err := tokens.NewFileStore(t.TempDir() + "/secrets")
	if err != nil {
		t.Fatal(err)
	}
	if err := files.Set(ctx, "refresh-token", []byte(first.RefreshToken)); err != nil {
		t.Fatal(err)
	}
	a, _ := tokens.NewRefresher(s.config(basicAuth()), files, "refresh-token")
	b, _ := tokens.NewRefresher(s.config(basicAuth()), files, "refresh-token")
	for i, r := range []*tokens.Refresher{a, b, a, b, a} {
		tok, err := r.Token(ctx)
		if err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		if !s.active(tok.Value()) {
			t.Fatalf("refresh %d: inactive token", i)
		}
	}
	if n := s.requests("refresh_token"); n != 5 {
		t.Fatalf("%d refresh requests, want 5", n)
	}
}

// downStore is a Store whose Get and Set fail as unavailable while down.
type downStore struct {
	tokens.Store
	down bool
}

func (d *downStore) Get(ctx context.Context, key string) ([]byte, error) {
	if d.down {
		return nil, &tokens.StoreError{Backend: "down", Op: "get", Key: key, Err: tokens.ErrUnavailable}
	}
	return d.Store.Get(ctx, key)
}

func (d *downStore) Set(ctx context.Context, key string, v []byte) error {
	if d.down {
		return &tokens.StoreError{Backend: "down", Op: "set", Key: key, Err: tokens.ErrUnavailable}
	}
	return d.Store.Set(ctx, key, v)
}

// Reading the store again before a refresh must not swap the refresh
// token in memory for the old copy a Chain's read-only fallback serves
// while the primary is down: fosite would take it for a replay and revoke
// the grant.
func TestRefresherKeepsItsTokenOverAStaleFallback(t *testing.T) {
	s := newAuthServer(t, time.Hour)
	ctx := context.Background()
	first := s.passwordToken(t, clientID, s.config(basicAuth()))
	env, _ := tokens.NewEnvStore("OAUTH2_INTEROP_")
	t.Setenv(env.Var("refresh-token"), first.RefreshToken)
	primary := &downStore{Store: tokens.NewMemoryStore()}
	primary.Set(ctx, "refresh-token", []byte(first.RefreshToken))
	chain, err := tokens.NewChain(tokens.Backend{Name: "primary", Store: primary},
		tokens.Fallback(tokens.Backend{Name: "env", Store: env}, tokens.WhenUnavailable))
	if err != nil {
		t.Fatal(err)
	}
	var reported []error
	r, _ := tokens.NewRefresher(s.config(basicAuth()), chain, "refresh-token",
		tokens.WithRefresherErrorHandler(func(err error) { reported = append(reported, err) }))
	if _, err := r.Token(ctx); err != nil { // rotated; env keeps the old copy
		t.Fatal(err)
	}
	if len(reported) != 1 {
		t.Fatalf("reported %v, want the stale env copy", reported)
	}
	primary.down = true
	if _, err := r.Token(ctx); !tokens.IsUnavailable(err) { // rotated again, not persisted
		t.Fatalf("refresh with the primary down: %v, want its write's error", err)
	}
	primary.down = false
	tok, err := r.Token(ctx)
	if err != nil {
		t.Fatalf("after the primary came back: %v", err)
	}
	if !s.active(tok.Value()) {
		t.Fatal("inactive token")
	}
}
