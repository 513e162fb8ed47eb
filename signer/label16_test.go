package signer

import (
	"errors"
	"strings"
	"testing"
)

// TestLabelTooLongRefused: Options.Label had no length limit, so a 70 KB
// label made a Signer whose every request the Verifier refused as
// ErrMalformed. New refuses a label longer than MaxLabelLength, and so
// does NewVerifier for VerifierOptions.Label; one of MaxLabelLength
// verifies.
func TestLabelTooLongRefused(t *testing.T) {
	k := testKey(t, "k")
	long := strings.Repeat("l", 70_000)
	s, err := New(Options{Keys: StaticKey(k), Label: long})
	if err == nil {
		t.Fatalf("New(70 KB Label) accepted; its signed request verifies as: %v", verifyOutcome(t, s, k, VerifierOptions{}))
	}
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Option != "Options.Label" || !strings.Contains(err.Error(), "MaxLabelLength") {
		t.Fatalf("New(70 KB Label) = %v, want a *ConfigError naming Options.Label and MaxLabelLength", err)
	}
	max := strings.Repeat("l", MaxLabelLength)
	s, err = New(Options{Keys: StaticKey(k), Label: max})
	if err != nil {
		t.Fatalf("New(%d-byte Label) = %v", MaxLabelLength, err)
	}
	if err := verifyOutcome(t, s, k, VerifierOptions{Label: max}); err != nil {
		t.Fatalf("Verify of a %d-byte label = %v", MaxLabelLength, err)
	}
	if _, err := New(Options{Keys: StaticKey(k), Label: max + "l"}); !errors.As(err, &ce) || ce.Option != "Options.Label" {
		t.Errorf("New(%d-byte Label) = %v", MaxLabelLength+1, err)
	}
	if _, err := NewVerifier(VerifierOptions{Keys: StaticKey(k), Label: max + "l"}); !errors.As(err, &ce) || ce.Option != "VerifierOptions.Label" {
		t.Errorf("NewVerifier(%d-byte Label) = %v", MaxLabelLength+1, err)
	}
}
