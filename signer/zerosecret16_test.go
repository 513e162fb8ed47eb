package signer_test

import (
	"context"
	"errors"
	"testing"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
)

// TestNewHMACKeyRefusesAllZeroSecret: a secret of zero bytes only (a
// buffer made and never filled: a rand.Read whose error was dropped, a
// decode into the wrong slice) was accepted as an hmac-sha256 key, so
// anyone could sign as it. NewHMACKey refuses it as it refuses a short
// secret, whatever its length, also when it comes from a secrets store.
func TestNewHMACKeyRefusesAllZeroSecret(t *testing.T) {
	for _, n := range []int{signer.MinHMACKeySize, 64, 100} {
		_, err := signer.NewHMACKey("k", make([]byte, n))
		var ce *signer.ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, signer.ErrWeakKey) || ce.Option != "secret" {
			t.Errorf("NewHMACKey(%d zero bytes) = %v, want a *ConfigError naming secret wrapping ErrWeakKey", n, err)
		}
	}
	// One byte not zero is a secret this check cannot call weak.
	for _, i := range []int{0, signer.MinHMACKeySize - 1} {
		secret := make([]byte, signer.MinHMACKeySize)
		secret[i] = 1
		if _, err := signer.NewHMACKey("k", secret); err != nil {
			t.Errorf("NewHMACKey(zero but byte %d) = %v", i, err)
		}
	}

	// Read from a secrets store, as examples/quickstart does.
	ctx := context.Background()
	store := tokens.NewMemoryStore()
	if err := store.Set(ctx, "hmac-key", make([]byte, signer.MinHMACKeySize)); err != nil {
		t.Fatal(err)
	}
	secret, err := store.Get(ctx, "hmac-key")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signer.NewHMACKey("k", secret); !errors.Is(err, signer.ErrWeakKey) {
		t.Errorf("NewHMACKey(zero secret from a store) = %v, want ErrWeakKey", err)
	}
}
