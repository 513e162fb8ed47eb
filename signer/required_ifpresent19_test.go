package signer

import (
	"errors"
	"strings"
	"testing"
)

// A Required component marked IfPresent reads as "covered when the
// request has it", but a Verifier requires every Required component on
// every request: Required: DefaultComponents() refused every GET (no
// content-digest, no content-type) its own Signer signed. NewVerifier
// refuses the flag, naming the entry.
func TestNewVerifierRefusesIfPresentInRequired(t *testing.T) {
	for _, req := range [][]Component{
		DefaultComponents(),
		append(DefaultRequired(), Field("authorization").IfPresent()),
	} {
		_, err := NewVerifier(VerifierOptions{Keys: StaticKey(testKey(t, "k")), Required: req})
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("Required %v: err = %v, want a *ConfigError", req, err)
		}
		i := 0
		for !req[i].Optional() {
			i++
		}
		if want := "VerifierOptions.Required[" + string(rune('0'+i)) + "]"; ce.Option != want || !strings.Contains(ce.Error(), "IfPresent") {
			t.Fatalf("Required %v: %v (option %q), want option %q naming IfPresent", req, ce, ce.Option, want)
		}
	}
	// Without the flag the same components are accepted.
	var plain []Component
	for _, c := range DefaultComponents() {
		c.optional = false
		plain = append(plain, c)
	}
	if _, err := NewVerifier(VerifierOptions{Keys: StaticKey(testKey(t, "k")), Required: plain}); err != nil {
		t.Fatalf("Required without IfPresent: %v", err)
	}
}
