package client_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
)

// A KeyLogWriter in a TLS configuration the client is given makes
// crypto/tls write the secrets of every connection to it, with which
// whoever reads them decrypts the calls and their credentials. Each
// option that takes a TLS configuration refuses it, naming itself, as it
// refuses InsecureSkipVerify (ErrInsecureTLS).
func TestTLSOptionsRefuseKeyLogWriter(t *testing.T) {
	keyLog := func() *tls.Config { return &tls.Config{KeyLogWriter: io.Discard} }
	for _, tc := range []struct {
		option string
		opts   []client.Option
	}{
		{"WithTLSConfig", []client.Option{client.WithTLSConfig(keyLog())}},
		{"WithBaseTransport", []client.Option{client.WithBaseTransport(&http.Transport{TLSClientConfig: keyLog()})}},
		{"WithOAuth2ClientCredentials", []client.Option{client.WithOAuth2ClientCredentials(tokens.OAuth2Config{
			TokenURL:   "https://auth.example.com/token",
			ClientID:   "id",
			Auth:       tokens.ClientSecretBasic(tokens.StaticSecret([]byte("secret"))),
			HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: keyLog()}},
		})}},
	} {
		t.Run(tc.option, func(t *testing.T) {
			c, err := client.New(append([]client.Option{client.WithOrigins("https://api.example.com")}, tc.opts...)...)
			if err == nil {
				c.Close()
				t.Fatal("New accepted a TLS configuration with a KeyLogWriter")
			}
			ce, ok := errors.AsType[*client.ConfigError](err)
			if !ok || ce.Option != tc.option || !errors.Is(err, client.ErrInsecureTLS) {
				t.Fatalf("New: %v, want a *ConfigError naming %s that matches ErrInsecureTLS", err, tc.option)
			}
		})
	}
}
