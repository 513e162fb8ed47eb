package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
)

// TestAPIKeyNegotiationHeaderRefused: WithAPIKey with a header the server
// reads for content negotiation (Accept, Accept-Charset,
// Accept-Language), caching (Cache-Control, Pragma) or as the body's
// metadata (Content-Language, Content-Location, Content-Range) was
// accepted, the caller's value silently replaced by the key on every
// request; it is a *ConfigError naming WithAPIKey.
func TestAPIKeyNegotiationHeaderRefused(t *testing.T) {
	src := tokens.Static(tokens.NewToken("k", "", time.Time{}))
	for _, h := range []string{"Accept", "Accept-Charset", "accept-language", "Cache-Control", "Pragma",
		"Content-Language", "Content-Location", "Content-Range"} {
		c, err := client.New(client.WithOrigins("https://api.example.com"), client.WithAPIKey(h, src))
		if err == nil {
			c.Close()
			t.Errorf("WithAPIKey(%q): New succeeded, want a *ConfigError naming WithAPIKey", h)
			continue
		}
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithAPIKey" {
			t.Errorf("WithAPIKey(%q): %v, want a *ConfigError naming WithAPIKey", h, err)
		}
	}
}
