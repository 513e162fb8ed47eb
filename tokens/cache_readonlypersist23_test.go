package tokens

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestPersistenceReadOnlyStoreRefused: WithPersistence over an EnvStore
// (a container whose secrets arrive as variables, the store passed for
// the token too), or a CachedStore or a Chain whose primary backend is
// one, was accepted, though no write to it can ever succeed
// (ErrReadOnly): the token was never persisted, every refresh's write
// failed, and without an error handler (the default) nothing said so, so
// a restarted service asked the token endpoint again while its operator
// believed the token persisted. NewCache now refuses such a store with a
// *ConfigError naming WithPersistence; a Chain whose fallback is an
// EnvStore (its primary takes the writes) is accepted as before.
func TestPersistenceReadOnlyStoreRefused(t *testing.T) {
	env, err := NewEnvStore("APP_")
	if err != nil {
		t.Fatal(err)
	}
	cached, err := NewCachedStore(env)
	if err != nil {
		t.Fatal(err)
	}
	envFirst, err := NewChain(Backend{Name: "env", Store: env}, Fallback(Backend{Name: "memory", Store: NewMemoryStore()}, WhenNotFound))
	if err != nil {
		t.Fatal(err)
	}
	envFallback, err := NewChain(Backend{Name: "memory", Store: NewMemoryStore()}, Fallback(Backend{Name: "env", Store: env}, WhenNotFound))
	if err != nil {
		t.Fatal(err)
	}
	src := Static(NewToken("t", "Bearer", time.Now().Add(time.Hour)))
	for name, s := range map[string]Store{"EnvStore": env, "CachedStore over EnvStore": cached, "Chain with an EnvStore primary": envFirst} {
		_, err := NewCache(src, WithPersistence(s, "access-token"))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithPersistence" || !strings.Contains(err.Error(), "read-only") {
			t.Errorf("%s: NewCache error %v, want a *ConfigError naming WithPersistence that says read-only", name, err)
		}
	}
	c, err := NewCache(src, WithPersistence(envFallback, "access-token"))
	if err != nil {
		t.Fatalf("Chain with an EnvStore fallback: %v", err)
	}
	c.Close()
}
