package signer

import (
	"errors"
	"testing"
)

// TestQueryParamEmptyNameRefused: QueryParam("") was accepted by New and
// signed `"@query-param";name=""` (for a query with a pair "=x"; for
// any other every Sign failed with ErrMissingComponent naming no option,
// or the component was left out unsigned when IfPresent), a signature
// every Verifier refuses as malformed ("@query-param needs a non-empty
// name parameter"); NewVerifier took it as Required and then refused
// every request. Both now refuse it with a *ConfigError naming the
// component.
func TestQueryParamEmptyNameRefused(t *testing.T) {
	k := testKey(t, "k")
	for _, c := range []Component{QueryParam(""), QueryParam("").IfPresent()} {
		_, err := New(Options{Keys: StaticKey(k), Components: []Component{Method, c}})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != "Options.Components[1]" {
			t.Errorf("New with %s: err = %v; want a *ConfigError naming Options.Components[1]", c, err)
		}
	}
	_, err := NewVerifier(VerifierOptions{Keys: StaticKey(k), Required: []Component{Method, QueryParam("")}})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Option != "VerifierOptions.Required[1]" {
		t.Errorf("NewVerifier with QueryParam(\"\"): err = %v; want a *ConfigError naming VerifierOptions.Required[1]", err)
	}
	if _, err := New(Options{Keys: StaticKey(k), Components: []Component{Method, QueryParam("a")}}); err != nil {
		t.Errorf("QueryParam(\"a\"): %v", err)
	}
}
