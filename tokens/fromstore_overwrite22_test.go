package tokens

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// TestFromStoreUnderPersistenceKeyRefused: a client secret read with
// FromStore under the key a Cache persists its token to (WithPersistence,
// same store) was read, used for the token request, and then overwritten
// with the access token's JSON: the client secret was lost (the next
// token request, or a restart, sent the JSON as the secret and got
// invalid_client). A SecretFunc cannot be seen into in NewCache; the
// token request now fails before it is sent with a *ConfigError naming
// WithPersistence and the key, and the store keeps the secret. The same
// holds for a FileStore over the same directory, and for a Refresher
// whose refresh token is under the key of its client secret.
func TestFromStoreUnderPersistenceKeyRefused(t *testing.T) {
	ctx := context.Background()
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) { issue(w, "at-1", "rt-1") })
	dir := filepath.Join(t.TempDir(), "secrets")
	fs1, err := NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	fs2, err := NewFileStore(dir + "/.")
	if err != nil {
		t.Fatal(err)
	}
	mem := NewMemoryStore()
	for name, stores := range map[string][2]Store{
		"memory":           {mem, mem},
		"file, same dir":   {fs1, fs2},
		"cached over file": {mustCachedStore(t, fs1), fs2},
	} {
		t.Run(name, func(t *testing.T) {
			secrets, persist := stores[0], stores[1]
			if err := persist.Set(ctx, "oauth", []byte("s3cr3t")); err != nil {
				t.Fatal(err)
			}
			cc, err := NewClientCredentials(as.config(ClientSecretBasic(FromStore(secrets, "oauth"))))
			if err != nil {
				t.Fatal(err)
			}
			before := as.count()
			c := mustCache(t, cc, WithPersistence(persist, "oauth"), WithErrorHandler(func(error) {}))
			_, err = c.Token(ctx)
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Option != "WithPersistence" || !strings.Contains(err.Error(), `"oauth"`) {
				t.Fatalf("Token = %v, want a *ConfigError naming WithPersistence and the key", err)
			}
			c.Close()
			if v, err := persist.Get(ctx, "oauth"); err != nil || string(v) != "s3cr3t" {
				t.Fatalf("stored client secret = %q, %v; want it kept", v, err)
			}
			if n := as.count() - before; n != 0 {
				t.Errorf("%d token requests, want none", n)
			}
		})
	}

	t.Run("refresher", func(t *testing.T) {
		store := NewMemoryStore()
		store.Set(ctx, "oauth", []byte("s3cr3t"))
		r, err := NewRefresher(as.config(ClientSecretBasic(FromStore(store, "oauth"))), store, "oauth")
		if err != nil {
			t.Fatal(err)
		}
		before := as.count()
		_, err = r.Token(ctx)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != "key" || !strings.Contains(err.Error(), `"oauth"`) {
			t.Fatalf("Token = %v, want a *ConfigError naming key", err)
		}
		if v, _ := store.Get(ctx, "oauth"); string(v) != "s3cr3t" {
			t.Fatalf("stored client secret = %q, want it kept", v)
		}
		if n := as.count() - before; n != 0 {
			t.Errorf("%d token requests, want none", n)
		}
	})

	t.Run("other key", func(t *testing.T) {
		store := NewMemoryStore()
		store.Set(ctx, "client-secret", []byte("s3cr3t"))
		cc, err := NewClientCredentials(as.config(ClientSecretBasic(FromStore(store, "client-secret"))))
		if err != nil {
			t.Fatal(err)
		}
		c := mustCache(t, cc, WithPersistence(store, "access-token"))
		mustToken(t, c, "at-1")
		c.Close()
	})
}

// TestStoreSourceUnderPersistenceKeyRefused: a Cache over StoreSource(s,
// k) persisting to k in s overwrote the API key with the token's JSON,
// which the next read (after a 401, a restart's refresh) sent as the key.
// NewCache now refuses it with a *ConfigError naming WithPersistence.
func TestStoreSourceUnderPersistenceKeyRefused(t *testing.T) {
	store := NewMemoryStore()
	store.Set(context.Background(), "api-key", []byte("k-1"))
	_, err := NewCache(StoreSource(store, "api-key", ""), WithPersistence(mustCachedStore(t, store), "api-key"))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Option != "WithPersistence" {
		t.Fatalf("NewCache = %v, want a *ConfigError naming WithPersistence", err)
	}
	if _, err := NewCache(StoreSource(store, "api-key", ""), WithPersistence(store, "cached")); err != nil {
		t.Fatalf("another key: %v", err)
	}
}

func mustCachedStore(t *testing.T, s Store) *CachedStore {
	t.Helper()
	cs, err := NewCachedStore(s)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}
