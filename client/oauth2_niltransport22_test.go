package client_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
)

// docs/configuration.md: New never panics on user input. A
// WithOAuth2ClientCredentials config whose HTTPClient.Transport holds a nil
// *http.Transport made New panic (its TLS check read the nil transport's
// TLSClientConfig); given a nil pointer of another RoundTripper type, every
// token request would have panicked. New refuses both with a *ConfigError
// naming the option and HTTPClient.Transport.
func TestOAuth2HTTPClientNilTransportRefused(t *testing.T) {
	var tr *http.Transport
	var other *nilRoundTripper
	for _, rt := range []http.RoundTripper{tr, other} {
		cfg := tokens.OAuth2Config{
			TokenURL:   "https://api.example/token",
			ClientID:   "c",
			Auth:       tokens.ClientSecretBasic(tokens.StaticSecret([]byte("secret"))),
			HTTPClient: &http.Client{Transport: rt},
		}
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					err = errors.New("New panicked")
				}
			}()
			var c *client.Client
			c, err = client.New(client.WithOrigins("https://api.example"), client.WithOAuth2ClientCredentials(cfg))
			if c != nil {
				c.Close()
			}
		}()
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithOAuth2ClientCredentials" {
			t.Errorf("%T: %v, want a *ConfigError naming WithOAuth2ClientCredentials", rt, err)
			continue
		}
		var inner *client.ConfigError
		if !errors.As(ce.Err, &inner) || inner.Option != "HTTPClient.Transport" {
			t.Errorf("%T: %v, want it to name HTTPClient.Transport", rt, err)
		}
	}
}

type nilRoundTripper struct{ next http.RoundTripper }

func (n *nilRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	return n.next.RoundTrip(req)
}
