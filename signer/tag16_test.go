package signer

import (
	"errors"
	"strings"
	"testing"
)

// verifyOutcome signs one request with s and returns what a Verifier of
// the same key makes of it.
func verifyOutcome(t *testing.T, s *Signer, k *Key, vopts VerifierOptions) error {
	t.Helper()
	req := signed(t, s, "GET", "https://example.com/x", "", t0)
	vopts.Keys = StaticKey(k)
	v := newTestVerifier(t, vopts)
	_, err := v.Verify(serverView(t, req), t0)
	return err
}

// TestTagTooLongRefused: Options.Tag had no length limit, so a 70 KB tag
// made a Signer whose every request this package's own Verifier refused
// as ErrMalformed (Signature-Input larger than MaxSignatureFieldSize).
// New refuses it with a *ConfigError naming Options.Tag.
func TestTagTooLongRefused(t *testing.T) {
	k := testKey(t, "k")
	long := strings.Repeat("t", 70_000)
	s, err := New(Options{Keys: StaticKey(k), Tag: long})
	if err == nil {
		t.Fatalf("New(70 KB Tag) accepted; its signed request verifies as: %v", verifyOutcome(t, s, k, VerifierOptions{Tag: long}))
	}
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Option != "Options.Tag" || !strings.Contains(err.Error(), "MaxTagLength") {
		t.Fatalf("New(70 KB Tag) = %v, want a *ConfigError naming Options.Tag and MaxTagLength", err)
	}
}

// TestTagAtMaxLengthVerifies: a tag of MaxTagLength bytes, even one of
// quotes and backslashes (escaped, twice as long on the wire), signs and
// verifies; one byte more is refused by New and NewVerifier alike.
func TestTagAtMaxLengthVerifies(t *testing.T) {
	k := testKey(t, "k")
	for _, tag := range []string{strings.Repeat("t", MaxTagLength), strings.Repeat(`"\`, MaxTagLength/2)} {
		s, err := New(Options{Keys: StaticKey(k), Tag: tag})
		if err != nil {
			t.Fatalf("New(%d-byte Tag) = %v", len(tag), err)
		}
		if err := verifyOutcome(t, s, k, VerifierOptions{Tag: tag}); err != nil {
			t.Fatalf("Verify of a %d-byte tag = %v", len(tag), err)
		}
		var ce *ConfigError
		if _, err := New(Options{Keys: StaticKey(k), Tag: tag + "t"}); !errors.As(err, &ce) || ce.Option != "Options.Tag" {
			t.Errorf("New(%d-byte Tag) = %v, want a *ConfigError naming Options.Tag", len(tag)+1, err)
		}
		if _, err := NewVerifier(VerifierOptions{Keys: StaticKey(k), Tag: tag + "t"}); !errors.As(err, &ce) || ce.Option != "VerifierOptions.Tag" {
			t.Errorf("NewVerifier(%d-byte Tag) = %v, want a *ConfigError naming VerifierOptions.Tag", len(tag)+1, err)
		}
	}
}

// TestVerifierTagNotSFStringRefused: VerifierOptions.Tag was not checked
// at all, so a tag no sf-string can hold (a CR/LF, a non-ASCII byte), which
// no signature can carry, made a Verifier that refused every request, and
// whose Middleware sent it in Accept-Signature. It is a *ConfigError, as
// Options.Tag is.
func TestVerifierTagNotSFStringRefused(t *testing.T) {
	for _, tag := range []string{"a\r\nb", "caf\u00e9", "a\x00"} {
		_, err := NewVerifier(VerifierOptions{Keys: StaticKey(testKey(t, "k")), Tag: tag})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != "VerifierOptions.Tag" {
			t.Errorf("NewVerifier(Tag %q) = %v, want a *ConfigError naming VerifierOptions.Tag", tag, err)
		}
	}
}
