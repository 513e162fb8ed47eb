package tokens_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/securecall/securecall/tokens"
)

func wantConfigErr(t *testing.T, what string, err error, option string) {
	t.Helper()
	var ce *tokens.ConfigError
	if !errors.As(err, &ce) || ce.Option != option {
		t.Errorf("%s: %v, want a *ConfigError naming %s", what, err, option)
	}
}

// Zero values of this package's Sources (not made by their constructors)
// panicked (ClientCredentials: on the cache's refresh goroutine, crashing
// the process) or blocked (Cache, Refresher: nil semaphores). NewCache
// refuses them and their Token methods return a *ConfigError.
func TestZeroSources(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, src := range []tokens.Source{new(tokens.ClientCredentials), new(tokens.Cache), new(tokens.Refresher)} {
		_, err := tokens.NewCache(src)
		wantConfigErr(t, "NewCache", err, "Source")
		_, err = src.Token(ctx)
		var ce *tokens.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%T.Token: %v, want a *ConfigError", src, err)
		}
	}
	if _, ok := new(tokens.Cache).CachedToken(ctx); ok {
		t.Error("zero Cache.CachedToken reported a token")
	}
}

// Zero values of this package's Stores panicked (CachedStore: on a
// singleflight goroutine; EnvStore), indexed an empty slice (Chain.Set) or
// read and wrote secrets relative to the working directory (FileStore).
// The constructors that take a Store refuse them, and their methods return
// a *ConfigError.
func TestZeroStores(t *testing.T) {
	ctx := context.Background()
	cfg := tokens.OAuth2Config{TokenURL: "https://idp.example/token", ClientID: "c", Auth: tokens.ClientSecretBasic(tokens.StaticSecret([]byte("s")))}
	for _, s := range []tokens.Store{new(tokens.CachedStore), new(tokens.Chain), new(tokens.EnvStore), new(tokens.FileStore)} {
		_, err := tokens.NewCachedStore(s)
		wantConfigErr(t, "NewCachedStore", err, "Store")
		_, err = tokens.NewChain(tokens.Backend{Name: "b", Store: s})
		wantConfigErr(t, "NewChain", err, "primary")
		_, err = tokens.NewRefresher(cfg, s, "rt")
		wantConfigErr(t, "NewRefresher", err, "store")
		_, err = tokens.NewCache(tokens.Static(tokens.NewToken("t", "", time.Time{})), tokens.WithPersistence(s, "tok"))
		wantConfigErr(t, "NewCache", err, "WithPersistence")

		var ce *tokens.ConfigError
		if _, err := s.Get(ctx, "k"); !errors.As(err, &ce) {
			t.Errorf("%T.Get: %v, want a *ConfigError", s, err)
		}
		if _, err := tokens.StoreSource(s, "k", "").Token(ctx); !errors.As(err, &ce) {
			t.Errorf("StoreSource(%T).Token: %v, want a *ConfigError", s, err)
		}
	}
	for _, s := range []tokens.Store{new(tokens.CachedStore), new(tokens.Chain), new(tokens.FileStore)} {
		var ce *tokens.ConfigError
		if err := s.Set(ctx, "k", []byte("v")); !errors.As(err, &ce) {
			t.Errorf("%T.Set: %v, want a *ConfigError", s, err)
		}
		if err := s.Delete(ctx, "k"); !errors.As(err, &ce) {
			t.Errorf("%T.Delete: %v, want a *ConfigError", s, err)
		}
	}
	new(tokens.CachedStore).Forget("k")
}

// A zero MemoryStore is what NewMemoryStore returns: it is usable.
func TestZeroMemoryStoreUsable(t *testing.T) {
	if _, err := tokens.NewCachedStore(new(tokens.MemoryStore)); err != nil {
		t.Fatal(err)
	}
}
