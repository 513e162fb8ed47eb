package transport_test

import (
	"net/http"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestRedirectForeignHopStripsNonCanonicalSensitiveHeaders: http.Client
// copies the caller's header map to every hop key by key, so a header the
// caller set under a non-canonical key (req.Header["x-my-key"], which
// net/http sends as written) reaches the hop under that key. A foreign hop
// must lose it like its canonical spelling: SensitiveHeaders name headers,
// and header names are case-insensitive.
func TestRedirectForeignHopStripsNonCanonicalSensitiveHeaders(t *testing.T) {
	own, _ := transport.ParseOrigins("https://api.example.com")
	foreign, _ := transport.ParseOrigins("https://cdn.example.net")
	p := &transport.RedirectPolicy{Origins: own, AllowedRedirects: foreign, SensitiveHeaders: []string{"X-My-Key"}}
	h := http.Header{
		"x-my-key": {"CANARY"},
		"referer":  {"https://api.example.com/v1?token=CANARY"},
		"Accept":   {"application/json"},
	}
	hop, via := redirectHop(t, "https://api.example.com/a", "https://cdn.example.net/b", h)
	if err := p.Check(hop, via); err != nil {
		t.Fatalf("foreign hop refused: %v", err)
	}
	for name := range hop.Header {
		if name != "Accept" {
			t.Errorf("foreign hop still carries %s", name)
		}
	}
}
