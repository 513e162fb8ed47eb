package keyring_test

import (
	"context"
	"errors"
	"testing"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/tokens/keyring"
)

// A zero Store (not made by New) has no keyring provider: Get, Set and
// Delete dereferenced it on the call's own goroutine, crashing the process.
// The tokens constructors refuse it, and its methods return a *ConfigError.
func TestZeroStore(t *testing.T) {
	var ce *tokens.ConfigError
	if _, err := tokens.NewCachedStore(new(keyring.Store)); !errors.As(err, &ce) || ce.Option != "Store" {
		t.Errorf("NewCachedStore: %v, want a *ConfigError naming Store", err)
	}
	s, ctx := new(keyring.Store), context.Background()
	if _, err := s.Get(ctx, "k"); !errors.As(err, &ce) {
		t.Errorf("Get: %v, want a *ConfigError", err)
	}
	if err := s.Set(ctx, "k", []byte("v")); !errors.As(err, &ce) {
		t.Errorf("Set: %v, want a *ConfigError", err)
	}
	if err := s.Delete(ctx, "k"); !errors.As(err, &ce) {
		t.Errorf("Delete: %v, want a *ConfigError", err)
	}
}
