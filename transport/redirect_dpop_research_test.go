package transport_test

import (
	"net/http"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestRedirectForeignHopStripsDPoP: an RFC 9449 DPoP proof is a credential
// like the bearer token it goes with (a holder may replay it, with the
// token, within its iat window): a foreign hop must not carry it, whatever
// spelling of the name the caller used.
func TestRedirectForeignHopStripsDPoP(t *testing.T) {
	own, err := transport.ParseOrigins("https://api.example.com")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := transport.ParseOrigins("https://cdn.example.net")
	if err != nil {
		t.Fatal(err)
	}
	p := &transport.RedirectPolicy{Origins: own, AllowedRedirects: foreign}
	h := http.Header{"Dpop": {"CANARY"}, "dpop": {"CANARY2"}}
	hop, via := redirectHop(t, "https://api.example.com/a", "https://cdn.example.net/b", h)
	if err := p.Check(hop, via); err != nil {
		t.Fatalf("foreign hop refused: %v", err)
	}
	for name := range hop.Header {
		t.Errorf("foreign hop still carries %s", name)
	}
}
