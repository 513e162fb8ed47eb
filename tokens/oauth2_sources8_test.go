package tokens

import (
	"errors"
	"testing"
)

// An empty scope, or one with a space, quote, backslash or control
// character, is not an RFC 6749 §3.3 scope-token (1*NQCHAR): joined with
// spaces it would send a malformed or different scope list ("a  b", "a b"
// read as two scopes, a trailing space), found only as an invalid_scope at
// the first token request. It is a *ConfigError naming Scopes.
func TestScopesMustBeScopeTokens(t *testing.T) {
	for _, s := range [][]string{{""}, {"a", ""}, {"a b"}, {"a\nb"}, {`a"b`}, {`a\b`}, {"é"}} {
		cfg := OAuth2Config{
			TokenURL: "https://as.example/token",
			ClientID: "c",
			Auth:     ClientSecretBasic(StaticSecret([]byte("s"))),
			Scopes:   s,
		}
		_, err := NewClientCredentials(cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != "Scopes" {
			t.Errorf("Scopes %q: err = %v, want a *ConfigError for Scopes", s, err)
		}
	}
	cfg := OAuth2Config{
		TokenURL: "https://as.example/token",
		ClientID: "c",
		Auth:     ClientSecretBasic(StaticSecret([]byte("s"))),
		Scopes:   []string{"api.read", "https://graph.example/.default", "openid"},
	}
	if _, err := NewClientCredentials(cfg); err != nil {
		t.Fatalf("valid scopes: %v", err)
	}
}
