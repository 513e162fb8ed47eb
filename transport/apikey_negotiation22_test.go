package transport_test

import (
	"errors"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestAPIKeyNegotiationHeaderRefused: an API key header that the server
// reads for content negotiation (Accept, Accept-Charset, Accept-Language:
// the key read as the preferences, 406 or another representation), for
// caching (Cache-Control, Pragma: the caller's no-cache or max-age lost,
// a cache between answering stale, the key read as directives) or as the
// body's metadata (Content-Language, Content-Location, Content-Range: a
// server answers a PUT carrying Content-Range 400) was accepted, and the
// caller's value silently replaced on every request. It is a
// *ConfigError naming APIKeyConfig.Header, as Content-Type is (1f08583).
func TestAPIKeyNegotiationHeaderRefused(t *testing.T) {
	for _, h := range []string{"Accept", "accept", "Accept-Charset", "Accept-Language", "Cache-Control",
		"cache-control", "Pragma", "Content-Language", "Content-Location", "Content-Range"} {
		_, err := transport.NewAPIKey(nil, transport.APIKeyConfig{Source: staticKey("k"), Scope: apiOrigins, Header: h})
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != "APIKeyConfig.Header" {
			t.Errorf("Header %q: %v, want a *ConfigError naming APIKeyConfig.Header", h, err)
		}
	}
	for _, h := range []string{"X-Api-Key", "Api-Key", "X-Accept-Key", "X-Cache-Key"} {
		if _, err := transport.NewAPIKey(nil, transport.APIKeyConfig{Source: staticKey("k"), Scope: apiOrigins, Header: h}); err != nil {
			t.Errorf("Header %q: %v, want it accepted", h, err)
		}
	}
}
