package client_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
)

// A token endpoint URL with a port no connection can be made to
// (https://idp.example:0/token, :65536, :99999: a typo) was accepted by
// tokens.NewClientCredentials, so every token request, and every call
// needing a token, failed at run time; client.New refused port 0, but as
// "WithAllowedNetworks: Ports[0]: port 0 cannot be dialed", naming an
// option the caller never gave (the SSRF-safe dialer is given the token
// endpoint's port). Both now refuse it as a *ConfigError naming TokenURL,
// inside one naming WithOAuth2ClientCredentials for New.
func TestTokenURLPortOutOfRangeRefused(t *testing.T) {
	cfg := func(u string) tokens.OAuth2Config {
		return tokens.OAuth2Config{TokenURL: u, ClientID: "svc", Auth: tokens.ClientSecretBasic(tokens.StaticSecret([]byte("s3cret")))}
	}
	for _, u := range []string{"https://idp.example:0/token", "https://127.0.0.1:0/token", "https://idp.example:65536/token", "https://[::1]:99999/token", "http://localhost:70000/token"} {
		c, err := client.New(client.WithOrigins("https://api.example.com"), client.WithOAuth2ClientCredentials(cfg(u)))
		if err == nil {
			c.Close()
		}
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithOAuth2ClientCredentials" || !strings.Contains(err.Error(), "TokenURL") {
			t.Errorf("New with TokenURL %s: err = %v, want a *ConfigError naming WithOAuth2ClientCredentials and TokenURL", u, err)
		}
		if _, err := tokens.NewClientCredentials(cfg(u)); !errors.As(err, &ce) || ce.Option != "TokenURL" {
			t.Errorf("NewClientCredentials with TokenURL %s: err = %v, want a *ConfigError naming TokenURL", u, err)
		}
	}
	for _, u := range []string{"https://idp.example:8443/token", "https://idp.example:65535/token", "https://idp.example/token"} {
		c, err := client.New(client.WithOrigins("https://api.example.com"), client.WithOAuth2ClientCredentials(cfg(u)))
		if err != nil {
			t.Errorf("TokenURL %s: %v", u, err)
			continue
		}
		c.Close()
	}
}
