package tokens

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
)

// TestPersistenceKeyCaseAliasRefused: on a case-insensitive file system
// (macOS, Windows), a FileStore's keys "Refresh-Token" and "refresh-token"
// name one file. NewCache compared the persistence key with the
// Refresher's refresh token key (and StoreSource's) exactly, so a Cache
// persisting under "Access" beside a Refresher keeping "access" in one
// FileStore was accepted, and there the access token's JSON overwrote the
// refresh token (the grant lost at the next refresh). Keys of one
// FileStore that differ only in case are now refused as the same key, on
// every system (a store that works on Linux alone is a trap when it moves
// to a laptop); a MemoryStore's stay distinct. FromStore's check (a client
// secret under the persistence key) does the same.
func TestPersistenceKeyCaseAliasRefused(t *testing.T) {
	ctx := context.Background()
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) { issue(w, "at-1", "rt-1") })
	fst, err := NewFileStore(filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := as.config(ClientSecretBasic(StaticSecret([]byte("s"))))
	r, err := NewRefresher(cfg, fst, "refresh-token")
	if err != nil {
		t.Fatal(err)
	}
	var ce *ConfigError
	if _, err := NewCache(r, WithPersistence(fst, "Refresh-Token")); !errors.As(err, &ce) || ce.Option != "WithPersistence" {
		t.Errorf("Refresher: NewCache = %v, want a *ConfigError naming WithPersistence", err)
	}
	if _, err := NewCache(StoreSource(fst, "api-key", ""), WithPersistence(fst, "API-KEY")); !errors.As(err, &ce) || ce.Option != "WithPersistence" {
		t.Errorf("StoreSource: NewCache = %v, want a *ConfigError naming WithPersistence", err)
	}

	fst.Set(ctx, "oauth", []byte("s3cr3t"))
	cc, err := NewClientCredentials(as.config(ClientSecretBasic(FromStore(fst, "oauth"))))
	if err != nil {
		t.Fatal(err)
	}
	c := mustCache(t, cc, WithPersistence(fst, "OAuth"), WithErrorHandler(func(error) {}))
	if _, err := c.Token(ctx); !errors.As(err, &ce) || ce.Option != "WithPersistence" {
		t.Errorf("FromStore: Token = %v, want a *ConfigError naming WithPersistence", err)
	}
	c.Close()

	// A MemoryStore's keys are case-sensitive everywhere.
	mem := NewMemoryStore()
	rm, err := NewRefresher(cfg, mem, "refresh-token")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewCache(rm, WithPersistence(mem, "Refresh-Token")); err != nil {
		t.Errorf("MemoryStore, keys differing in case: %v", err)
	}
}
