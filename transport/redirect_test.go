package transport_test

import (
	"net/http"
	"testing"

	"github.com/securecall/securecall/transport"
)

// redirectHop builds the request http.Client makes for a redirect hop to
// to (headers copied from the original request, as http.Client does),
// and the via chain holding the original request to from.
func redirectHop(t *testing.T, from, to string, h http.Header) (*http.Request, []*http.Request) {
	t.Helper()
	first, err := http.NewRequest(http.MethodGet, from, nil)
	if err != nil {
		t.Fatal(err)
	}
	first.Header = h.Clone()
	hop, err := http.NewRequest(http.MethodGet, to, nil)
	if err != nil {
		t.Fatal(err)
	}
	hop.Header = h.Clone()
	return hop, []*http.Request{first}
}

// TestRedirectForeignHopStripsEveryCredentialHeader: a foreign hop gets
// no credential. The library's own credential headers (those the
// credential guard never sends over plain http and telemetry never shows:
// X-Api-Key, Api-Key, X-Auth-Token, X-Amz-Security-Token,
// X-Goog-Api-Key...) must be stripped like Authorization, without the
// caller having to list them in SensitiveHeaders.
func TestRedirectForeignHopStripsEveryCredentialHeader(t *testing.T) {
	own, err := transport.ParseOrigins("https://api.example.com")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := transport.ParseOrigins("https://cdn.example.net")
	if err != nil {
		t.Fatal(err)
	}
	p := &transport.RedirectPolicy{Origins: own, AllowedRedirects: foreign}
	creds := []string{
		"Authorization", "Proxy-Authorization", "Cookie", "Cookie2", "Signature", "Signature-Input",
		"X-Api-Key", "Api-Key", "X-Auth-Token", "X-Amz-Security-Token", "X-Goog-Api-Key",
		// Added in session 20: Azure API Management, Azure Functions,
		// HashiCorp Vault, GitLab.
		"Ocp-Apim-Subscription-Key", "X-Functions-Key", "X-Vault-Token", "Private-Token",
	}
	h := http.Header{"Accept": {"application/json"}}
	for _, name := range creds {
		h.Set(name, "CANARY")
	}
	hop, via := redirectHop(t, "https://api.example.com/a", "https://cdn.example.net/b", h)
	if err := p.Check(hop, via); err != nil {
		t.Fatalf("foreign hop refused: %v", err)
	}
	for _, name := range creds {
		if v := hop.Header.Get(name); v != "" {
			t.Errorf("foreign hop still carries %s", name)
		}
	}
	if hop.Header.Get("Accept") == "" {
		t.Error("foreign hop lost a non-credential header")
	}

	// An own-origin hop keeps the caller's headers.
	hop, via = redirectHop(t, "https://api.example.com/a", "https://api.example.com/b", h)
	if err := p.Check(hop, via); err != nil {
		t.Fatal(err)
	}
	if hop.Header.Get("X-Api-Key") != "CANARY" {
		t.Error("own-origin hop lost X-Api-Key")
	}
}

// TestRedirectForeignHopDropsReferer: http.Client sets Referer on every
// hop to the previous URL, path and query included (a signed URL's
// signature, a key the caller put in the query). A foreign hop must not
// get it.
func TestRedirectForeignHopDropsReferer(t *testing.T) {
	own, _ := transport.ParseOrigins("https://api.example.com")
	foreign, _ := transport.ParseOrigins("https://cdn.example.net")
	p := &transport.RedirectPolicy{Origins: own, AllowedRedirects: foreign}
	h := http.Header{"Referer": {"https://api.example.com/v1/files?api_key=CANARY"}}
	hop, via := redirectHop(t, "https://api.example.com/v1/files?api_key=CANARY", "https://cdn.example.net/b", h)
	if err := p.Check(hop, via); err != nil {
		t.Fatal(err)
	}
	if v := hop.Header.Get("Referer"); v != "" {
		t.Fatalf("foreign hop carries Referer %q", v)
	}
	hop, via = redirectHop(t, "https://api.example.com/a?k=1", "https://api.example.com/b", h)
	if err := p.Check(hop, via); err != nil {
		t.Fatal(err)
	}
	if hop.Header.Get("Referer") == "" {
		t.Fatal("own-origin hop lost its Referer")
	}
}
