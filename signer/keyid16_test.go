package signer

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
)

// TestKeyIDTooLongRefused: a key id had no length limit, so a 70 KB id
// made a key, and a Signer with it, whose every request this package's
// own Verifier refused as ErrMalformed (the Signature-Input field is
// larger than MaxSignatureFieldSize). The constructors refuse it.
func TestKeyIDTooLongRefused(t *testing.T) {
	long := strings.Repeat("k", 70_000)
	hk, err := NewHMACKey(long, testSecret)
	if err == nil {
		// Show what such a key does today: signed, then refused.
		s, serr := New(Options{Keys: StaticKey(hk)})
		if serr != nil {
			t.Fatal(serr)
		}
		req := signed(t, s, "GET", "https://example.com/x", "", t0)
		v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(hk)})
		_, verr := v.Verify(serverView(t, req), t0)
		t.Fatalf("NewHMACKey(70 KB id) accepted; its signed request verifies as: %v", verr)
	}
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Option != "keyID" {
		t.Fatalf("NewHMACKey(70 KB id) = %v, want a *ConfigError naming keyID", err)
	}
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	if _, err := NewEd25519Key(long, priv); !errors.As(err, &ce) || ce.Option != "keyID" {
		t.Errorf("NewEd25519Key(70 KB id) = %v", err)
	}
	if _, err := NewEd25519PublicKey(long, priv.Public().(ed25519.PublicKey)); !errors.As(err, &ce) || ce.Option != "keyID" {
		t.Errorf("NewEd25519PublicKey(70 KB id) = %v", err)
	}
}

// TestKeyIDAtMaxLengthVerifies: an id of MaxKeyIDLength bytes, even one of
// quotes and backslashes (escaped, twice as long on the wire), is accepted
// and its signature verifies; one byte more is refused.
func TestKeyIDAtMaxLengthVerifies(t *testing.T) {
	for _, id := range []string{strings.Repeat("k", MaxKeyIDLength), strings.Repeat(`"\`, MaxKeyIDLength/2)} {
		k, err := NewHMACKey(id, testSecret)
		if err != nil {
			t.Fatalf("NewHMACKey(%d-byte id) = %v", len(id), err)
		}
		s, err := New(Options{Keys: StaticKey(k)})
		if err != nil {
			t.Fatal(err)
		}
		req := signed(t, s, "POST", "https://example.com/x?a=1", `{"a":1}`, t0)
		v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k)})
		res, err := v.Verify(serverView(t, req), t0)
		if err != nil || res.KeyID != id {
			t.Fatalf("Verify = %v, %v", res, err)
		}
		var ce *ConfigError
		if _, err := NewHMACKey(id+"k", testSecret); !errors.As(err, &ce) || ce.Option != "keyID" || !strings.Contains(err.Error(), "MaxKeyIDLength") {
			t.Errorf("NewHMACKey(%d-byte id) = %v, want a *ConfigError naming keyID and MaxKeyIDLength", len(id)+1, err)
		}
	}
}
