package tokens

import (
	"context"
	"errors"
	"testing"
)

// A Cache over a Refresher persisting its access token under the key the
// Refresher keeps its refresh token under (the same store, or one that
// wraps it: a CachedStore, a Chain) overwrote the refresh token with the
// access token's JSON: the Refresher's next refresh read the store again
// (adopt), took that JSON for a rotated refresh token, sent it and lost the
// grant (invalid_grant); a restart does the same. NewCache refuses the key
// with a *ConfigError naming WithPersistence.
func TestCachePersistenceKeyOfItsRefresherRefused(t *testing.T) {
	as, _ := rotatingAS(t)
	ctx := context.Background()
	back := NewMemoryStore()
	back.Set(ctx, "rt", []byte("rt-0"))
	cached, err := NewCachedStore(back)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := NewChain(Backend{Name: "mem", Store: back})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), back, "rt")
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]Store{"same store": back, "a CachedStore over it": cached, "a Chain over it": chain} {
		_, err := NewCache(r, WithPersistence(s, "rt"))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithPersistence" {
			t.Errorf("%s: NewCache = %v, want a *ConfigError naming WithPersistence", name, err)
		}
	}
	dir := t.TempDir()
	f1, _ := NewFileStore(dir)
	f2, _ := NewFileStore(dir + "/.")
	rf, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), f1, "rt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewCache(rf, WithPersistence(f2, "rt")); err == nil {
		t.Error("FileStores over one directory: NewCache accepted the refresh token's key")
	}
	f3, _ := NewFileStore(t.TempDir())
	if _, err := NewCache(rf, WithPersistence(f3, "rt")); err != nil {
		t.Errorf("FileStore over another directory: %v", err)
	}
	// Another key, or another store, is fine.
	if _, err := NewCache(r, WithPersistence(back, "access-token")); err != nil {
		t.Errorf("another key: %v", err)
	}
	if _, err := NewCache(r, WithPersistence(NewMemoryStore(), "rt")); err != nil {
		t.Errorf("another store: %v", err)
	}
}
