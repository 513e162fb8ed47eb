package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
)

// WithAPIKey with a header that already means something to net/http or to
// the server (the key replaces every value of its header) is a
// *ConfigError naming WithAPIKey: Content-Type (the body's media type
// lost), Expect (a server answers 417), Accept-Encoding (net/http's
// transparent gzip off; the key read as content codings), Range and the
// If-* conditionals (part of the resource, 304, 412, 416 for every call).
func TestAPIKeyHeaderWithMeaningRefused(t *testing.T) {
	src := tokens.Static(tokens.NewToken("k", "", time.Time{}))
	for _, h := range []string{"Content-Type", "Content-Encoding", "Expect", "accept-encoding", "Range",
		"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range"} {
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
