package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
)

// A Cookie header as the API key's: the key layer replaces every value
// the request has in its header, so the caller's cookies and those an
// http.Client's Jar adds (HTTPClient) were silently dropped from every
// request to the origin, and a server reads Cookie as name=value pairs
// (RFC 6265 §4.2), not a bare key.
func TestAPIKeyCookieHeaderRefused(t *testing.T) {
	src := tokens.Static(tokens.NewToken("k", "", time.Time{}))
	for _, h := range []string{"Cookie", "cookie", "COOKIE"} {
		c, err := client.New(client.WithOrigins("https://api.example.com"), client.WithAPIKey(h, src))
		if err == nil {
			c.Close()
			t.Fatalf("WithAPIKey(%q): New succeeded, want a *ConfigError naming WithAPIKey", h)
		}
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithAPIKey" {
			t.Fatalf("WithAPIKey(%q): %v, want a *ConfigError naming WithAPIKey", h, err)
		}
	}
}
