package tokens

import (
	"errors"
	"testing"
)

// TestTokenURLWithoutHostIsConfigError: a token URL with a port but no
// host ("https://:8443/token") was accepted, and every token request then
// dialled the local machine and failed at the TLS handshake (no server
// name); it is a *ConfigError naming TokenURL, as "https:///token" is.
func TestTokenURLWithoutHostIsConfigError(t *testing.T) {
	auth := ClientSecretBasic(StaticSecret([]byte("s")))
	for _, u := range []string{"https://:8443/token", "https://:/token", "https:///token"} {
		var ce *ConfigError
		if _, err := NewClientCredentials(OAuth2Config{TokenURL: u, ClientID: "c", Auth: auth}); !errors.As(err, &ce) || ce.Option != "TokenURL" {
			t.Errorf("%q: %v", u, err)
		}
	}
}
