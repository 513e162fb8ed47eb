package client_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
)

// The client secret goes to the token endpoint over cfg.HTTPClient when
// it is set: an *http.Transport there that skips certificate
// verification (or allows TLS below 1.2) sent it to whoever answered,
// where DESIGN.md says InsecureSkipVerify is refused, never honoured. It
// is checked as WithTLSConfig's and WithBaseTransport's are.
func TestWithOAuth2ClientCredentialsRefusesInsecureHTTPClient(t *testing.T) {
	for _, tc := range []*tls.Config{
		{InsecureSkipVerify: true},
		{MinVersion: tls.VersionTLS10},
	} {
		cfg := tokens.OAuth2Config{
			TokenURL:   "https://auth.example.com/token",
			ClientID:   "id",
			Auth:       tokens.ClientSecretBasic(tokens.StaticSecret([]byte("secret"))),
			HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: tc}},
		}
		_, err := client.New(client.WithOrigins("https://api.example.com"), client.WithOAuth2ClientCredentials(cfg))
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithOAuth2ClientCredentials" || !errors.Is(err, client.ErrInsecureTLS) {
			t.Fatalf("New: %v, want a *ConfigError naming WithOAuth2ClientCredentials that matches ErrInsecureTLS", err)
		}
	}
	cfg := tokens.OAuth2Config{
		TokenURL:   "https://auth.example.com/token",
		ClientID:   "id",
		Auth:       tokens.ClientSecretBasic(tokens.StaticSecret([]byte("secret"))),
		HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}},
	}
	c, err := client.New(client.WithOrigins("https://api.example.com"), client.WithOAuth2ClientCredentials(cfg))
	if err != nil {
		t.Fatalf("New with a verifying HTTPClient: %v", err)
	}
	c.Close()
}
