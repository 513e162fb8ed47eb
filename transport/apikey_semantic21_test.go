package transport_test

import (
	"errors"
	"testing"

	"github.com/securecall/securecall/transport"
)

// An API key header that already means something to net/http or to the
// server is a *ConfigError naming APIKeyConfig.Header: the key replaces
// every value of its header, so Content-Type and Content-Encoding lose the
// body's media type and coding, Expect makes a server answer 417,
// Accept-Encoding turns off net/http's transparent gzip and is read as
// content codings, Range and the If-* conditionals make the server answer
// part of the resource, 304, 412 or 416. Other names stay accepted,
// Cookie too (by design: a hand-built stack may want it).
func TestAPIKeyHeaderWithMeaningRefused(t *testing.T) {
	for _, h := range []string{"Content-Type", "content-type", "Content-Encoding", "Expect", "Accept-Encoding",
		"Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "IF-RANGE", "Te"} {
		_, err := transport.NewAPIKey(nil, transport.APIKeyConfig{Source: staticKey("k"), Scope: apiOrigins, Header: h})
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != "APIKeyConfig.Header" {
			t.Errorf("Header %q: %v, want a *ConfigError naming APIKeyConfig.Header", h, err)
		}
	}
	for _, h := range []string{"X-Api-Key", "Authorization", "Cookie", "Api-Key", "X-If-Key"} {
		if _, err := transport.NewAPIKey(nil, transport.APIKeyConfig{Source: staticKey("k"), Scope: apiOrigins, Header: h}); err != nil {
			t.Errorf("Header %q: %v, want it accepted", h, err)
		}
	}
}
