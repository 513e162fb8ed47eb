package tokens

import (
	"context"
	"errors"
	"testing"
)

// Chain.Set and Delete look for fallbacks that hold the key with the
// fallback's Get, which a CachedStore answers from memory: a fallback whose
// backend no longer had the secret (removed from the file store behind the
// cache) still counted as holding it. Set then wrote the new secret (a
// rotated refresh token) into the weaker store, which a Chain never
// creates a secret in, and Delete reported it as holding an old copy it
// could not delete. Fallbacks with a Refresh method are checked past their
// cache.
func TestChainWritesCheckFallbacksPastTheirCache(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*Chain, *MemoryStore, *MemoryStore) {
		t.Helper()
		primary, files := NewMemoryStore(), NewMemoryStore()
		files.Set(ctx, "refresh-token", []byte("old"))
		cached, err := NewCachedStore(files)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := cached.Get(ctx, "refresh-token"); err != nil || string(v) != "old" {
			t.Fatalf("Get = %q %v", v, err)
		}
		files.Delete(ctx, "refresh-token") // migrated away from the file store
		chain, err := NewChain(Backend{Name: "keyring", Store: primary}, Fallback(Backend{Name: "file", Store: cached}, WhenNotFound))
		if err != nil {
			t.Fatal(err)
		}
		return chain, primary, files
	}
	t.Run("Set", func(t *testing.T) {
		chain, primary, files := setup(t)
		if err := chain.Set(ctx, "refresh-token", []byte("new")); err != nil {
			t.Fatalf("Set = %v", err)
		}
		if v, err := primary.Get(ctx, "refresh-token"); err != nil || string(v) != "new" {
			t.Fatalf("primary = %q %v", v, err)
		}
		if v, err := files.Get(ctx, "refresh-token"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("the file store, which no longer had the secret, got it back: %q %v", v, err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		chain, primary, _ := setup(t)
		primary.Set(ctx, "refresh-token", []byte("cur"))
		if err := chain.Delete(ctx, "refresh-token"); err != nil {
			t.Fatalf("Delete = %v, want nil (no fallback holds the key)", err)
		}
	})
}
