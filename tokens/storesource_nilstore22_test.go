package tokens

import (
	"context"
	"errors"
	"testing"
)

// TestStoreSourceAndFromStoreNilStoreRefused: e74463d made NewCache,
// NewCachedStore, NewChain and NewRefresher refuse a nil pointer held in a
// Store (a *FileStore variable never assigned), but the stores given to
// StoreSource and FromStore were not looked at: NewCache(StoreSource(fs,
// ...)) with such an fs was accepted and every refresh failed with "the
// token source panicked", naming no option, and a FromStore secret read
// panicked on the caller's goroutine (ClientCredentials.Token used
// without a Cache). NewCache now refuses StoreSource's nil store (a nil
// pointer, or no store at all) with a *ConfigError naming Source, and
// StoreSource's Token and FromStore's read return one naming StoreSource
// or FromStore instead of panicking.
func TestStoreSourceAndFromStoreNilStoreRefused(t *testing.T) {
	ctx := context.Background()
	var fs *FileStore
	var ce *ConfigError
	for name, s := range map[string]Store{"nil *FileStore": fs, "nil Store": nil} {
		if _, err := NewCache(StoreSource(s, "api-key", "")); !errors.As(err, &ce) || ce.Option != "Source" {
			t.Errorf("%s: NewCache(StoreSource) = %v, want a *ConfigError naming Source", name, err)
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: StoreSource's Token panicked: %v", name, r)
				}
			}()
			if _, err := StoreSource(s, "api-key", "").Token(ctx); !errors.As(err, &ce) || ce.Option != "StoreSource" {
				t.Errorf("%s: StoreSource's Token = %v, want a *ConfigError naming StoreSource", name, err)
			}
		}()
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: FromStore's read panicked: %v", name, r)
				}
			}()
			if _, err := FromStore(s, "secret")(ctx); !errors.As(err, &ce) || ce.Option != "FromStore" {
				t.Errorf("%s: FromStore's read = %v, want a *ConfigError naming FromStore", name, err)
			}
		}()
	}
	// A store made by its constructor is used as before.
	m := NewMemoryStore()
	_ = m.Set(ctx, "api-key", []byte("k1"))
	c, err := NewCache(StoreSource(m, "api-key", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if tok, err := c.Token(ctx); err != nil || tok.Value() != "k1" {
		t.Errorf("Token = %v, %v; want k1", tok.Value(), err)
	}
	if b, err := FromStore(m, "api-key")(ctx); err != nil || string(b) != "k1" {
		t.Errorf("FromStore = %q, %v; want k1", b, err)
	}
}
