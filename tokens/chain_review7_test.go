package tokens

import (
	"context"
	"errors"
	"testing"
)

// readOnlyMem is a MemoryStore whose writes fail with ErrReadOnly.
type readOnlyMem struct{ *MemoryStore }

func (r readOnlyMem) Set(_ context.Context, key string, _ []byte) error {
	return &StoreError{Backend: "ro", Op: "set", Key: key, Err: ErrReadOnly}
}
func (r readOnlyMem) Delete(_ context.Context, key string) error {
	return &StoreError{Backend: "ro", Op: "delete", Key: key, Err: ErrReadOnly}
}

// A rotated secret written through a Chain must not leave the old value in
// a fallback that holds the key: read from there later (the keyring down),
// an old refresh token trips the server's reuse detection.
func TestChainSetUpdatesEveryBackendHoldingTheKey(t *testing.T) {
	ctx := context.Background()
	keyring, file, other := newFlaky("keyring"), newFlaky("file"), newFlaky("other")
	file.m.Set(ctx, "rt", []byte("rt-1")) // provisioned in the file
	c, err := NewChain(Backend{"keyring", keyring},
		Fallback(Backend{"file", file}, WhenNotFound|WhenUnavailable),
		Fallback(Backend{"other", other}, WhenNotFound))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "rt", []byte("rt-2")); err != nil {
		t.Fatal(err)
	}
	keyring.err = ErrUnavailable
	if v, from, err := c.Lookup(ctx, "rt"); err != nil || string(v) != "rt-2" {
		t.Fatalf("fallback serves %q from %q (%v), want the rotated value", v, from, err)
	}
	if _, err := other.m.Get(ctx, "rt"); !errors.Is(err, ErrNotFound) {
		t.Fatal("Set created the secret in a fallback that did not hold it")
	}

	// Delete removes every copy: a fallback must not serve a deleted secret.
	keyring.err = nil
	if err := c.Delete(ctx, "rt"); err != nil {
		t.Fatal(err)
	}
	if v, from, err := c.Lookup(ctx, "rt"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted secret still served: %q from %q (%v)", v, from, err)
	}
}

// A fallback that holds the key but cannot be updated is an error, not a
// silent stale copy: the primary has the value, the *ChainError names the
// fallback.
func TestChainSetReportsStaleFallback(t *testing.T) {
	ctx := context.Background()
	primary := NewMemoryStore()
	env := readOnlyMem{NewMemoryStore()}
	env.MemoryStore.Set(ctx, "rt", []byte("rt-1"))
	c, err := NewChain(Backend{"keyring", primary}, Fallback(Backend{"env", env}, WhenNotFound))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Set(ctx, "rt", []byte("rt-2"))
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Op != "set" || len(ce.Backends) != 1 || ce.Backends[0] != "env" || !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Set = %v, want a *ChainError naming the stale env copy", err)
	}
	if v, _ := primary.Get(ctx, "rt"); string(v) != "rt-2" {
		t.Fatalf("primary holds %q", v)
	}
	// A failing primary is its own error, and nothing else is written.
	bad := failingStore{err: &StoreError{Backend: "keyring", Op: "set", Key: "rt", Err: ErrLocked}}
	c, _ = NewChain(Backend{"keyring", bad}, Fallback(Backend{"file", primary}, WhenNotFound))
	if err := c.Set(ctx, "rt", []byte("rt-3")); !errors.Is(err, ErrLocked) || errors.As(err, &ce) {
		t.Fatalf("primary failure: %v", err)
	}
	if v, _ := primary.Get(ctx, "rt"); string(v) != "rt-2" {
		t.Fatalf("fallback written although the primary failed: %q", v)
	}
}
