package tokens

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
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

// grant_type is a parameter the client-credentials request sets itself:
// x/oauth2 lets EndpointParams override it, which would silently turn
// ClientCredentials into another grant (password, jwt-bearer) sending the
// client's credentials with it. It is a *ConfigError like the others.
func TestEndpointParamsGrantTypeIsConfigError(t *testing.T) {
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) { issue(w, "at", "") })
	cfg := as.config(ClientSecretBasic(StaticSecret([]byte("s"))))
	cfg.EndpointParams = url.Values{"grant_type": {"password"}, "username": {"u"}, "password": {"p"}}
	cc, err := NewClientCredentials(cfg)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Option != "EndpointParams" || !strings.Contains(err.Error(), "grant_type") {
		if err == nil {
			_, _ = cc.Token(context.Background())
			t.Fatalf("EndpointParams[grant_type] accepted; sent grant_type=%q", as.lastForm().Get("grant_type"))
		}
		t.Fatalf("EndpointParams[grant_type]: err = %v, want a *ConfigError naming EndpointParams", err)
	}
}

// The assertion's iat and exp are whole seconds (RFC 7519 NumericDate): a
// Lifetime under a second gave exp == iat, an assertion expired when
// issued and refused as invalid_client at every token request. It is a
// *ConfigError naming the field.
func TestPrivateKeyJWTSubSecondLifetimeIsConfigError(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, life := range []time.Duration{time.Nanosecond, 500 * time.Millisecond, time.Second - 1} {
		cfg := OAuth2Config{
			TokenURL: "https://as.example/token",
			ClientID: "c",
			Auth:     PrivateKeyJWT(PrivateKeyJWTConfig{Signer: key, Lifetime: life}),
		}
		_, err := NewClientCredentials(cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != "PrivateKeyJWTConfig.Lifetime" {
			t.Errorf("Lifetime %v: err = %v, want a *ConfigError for PrivateKeyJWTConfig.Lifetime", life, err)
		}
	}
}
