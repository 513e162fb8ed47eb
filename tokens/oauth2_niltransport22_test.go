package tokens_test

import (
	"net/http"
	"testing"

	"github.com/securecall/securecall/tokens"
)

// An OAuth2Config.HTTPClient whose Transport holds a nil pointer (an
// *http.Transport variable never assigned) is not a nil RoundTripper, so
// http.Client does not fall back to http.DefaultTransport: every token
// request panicked in (*http.Transport).RoundTrip (a Cache in front made
// each a failed refresh naming a runtime error, and backed off).
// NewClientCredentials and NewRefresher refuse it with a *ConfigError
// naming HTTPClient.Transport.
func TestOAuth2ConfigNilHTTPTransportRefused(t *testing.T) {
	var tr *http.Transport
	cfg := tokens.OAuth2Config{
		TokenURL:   "https://auth.example/token",
		ClientID:   "c",
		Auth:       tokens.ClientSecretBasic(tokens.StaticSecret([]byte("secret"))),
		HTTPClient: &http.Client{Transport: tr},
	}
	_, err := tokens.NewClientCredentials(cfg)
	wantConfigErr(t, "NewClientCredentials", err, "HTTPClient.Transport")
	_, err = tokens.NewRefresher(cfg, tokens.NewMemoryStore(), "refresh")
	wantConfigErr(t, "NewRefresher", err, "HTTPClient.Transport")
}
