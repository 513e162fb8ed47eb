package tokens

import (
	"context"
	"errors"
	"testing"
)

// After invalid_grant a Refresher re-reads its refresh token past a
// CachedStore's cache. A Chain whose primary is a CachedStore (keyring
// behind a cache, a file fallback) hid the cache's Refresh: the re-read was
// a cache hit that returned the rejected token, and a grant re-provisioned
// by another process was never used. Chain.Refresh now reads through.
func TestRefresherRereadBypassesCacheInChain(t *testing.T) {
	as, _ := rotatingAS(t)
	ctx := context.Background()
	back := NewMemoryStore()
	back.Set(ctx, "rt", []byte("dead"))
	cached, err := NewCachedStore(back)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := NewChain(Backend{Name: "keyring", Store: cached},
		Fallback(Backend{Name: "file", Store: NewMemoryStore()}, WhenNotFound))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), chain, "rt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Token(ctx); !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("dead refresh token: err = %v, want ErrInvalidGrant", err)
	}
	back.Set(ctx, "rt", []byte("rt-0")) // re-provisioned by another process
	tok, err := r.Token(ctx)
	if err != nil || tok.Value() != "at-1" {
		t.Fatalf("after re-provisioning: tok %q, err = %v; want at-1", tok.Value(), err)
	}
}

// Chain.Refresh keeps the Chain's fallback rules: a fallback is read only
// when the backend before it failed in a way it was configured for, and an
// unavailable primary does not give way to a WhenNotFound fallback.
func TestChainRefreshKeepsFallbackRules(t *testing.T) {
	ctx := context.Background()
	primary := NewMemoryStore()
	cached, err := NewCachedStore(primary)
	if err != nil {
		t.Fatal(err)
	}
	file := NewMemoryStore()
	file.Set(ctx, "k", []byte("from-file"))
	var served []string
	chain, err := NewChain(Backend{Name: "keyring", Store: cached},
		Fallback(Backend{Name: "file", Store: file}, WhenNotFound),
		WithOnServe(func(_, b string) { served = append(served, b) }))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := chain.Refresh(ctx, "k"); err != nil || string(v) != "from-file" {
		t.Fatalf("Refresh, primary without k: %q %v; want the fallback's", v, err)
	}
	primary.Set(ctx, "k", []byte("old"))
	cached.Get(ctx, "k")
	primary.Set(ctx, "k", []byte("new")) // behind the cache's back
	if v, err := chain.Refresh(ctx, "k"); err != nil || string(v) != "new" {
		t.Fatalf("Refresh = %q %v; want the primary's backend value", v, err)
	}
	if len(served) != 2 || served[0] != "file" || served[1] != "keyring" {
		t.Errorf("OnServe saw %v, want [file keyring]", served)
	}

	locked := &failStore{err: &StoreError{Backend: "keyring", Op: "get", Key: "k", Err: ErrLocked}}
	chain2, err := NewChain(Backend{Name: "keyring", Store: locked},
		Fallback(Backend{Name: "file", Store: file}, WhenNotFound))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chain2.Refresh(ctx, "k"); !errors.Is(err, ErrLocked) {
		t.Fatalf("Refresh over a locked primary: %v, want ErrLocked and no fallback", err)
	}
}

type failStore struct{ err error }

func (f *failStore) Get(context.Context, string) ([]byte, error) { return nil, f.err }
func (f *failStore) Set(context.Context, string, []byte) error   { return f.err }
func (f *failStore) Delete(context.Context, string) error        { return f.err }
