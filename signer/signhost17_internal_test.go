package signer

import (
	"net/http"
	"net/url"
	"testing"
)

// TestAlignHostReturnsHostOf: the host alignHost returns, which Sign signs
// (message.host), is hostOf of the request as alignHost leaves it, for an
// ASCII host, IDN hosts whose lookup form is or is not their plain
// punycode, a name neither converts, a bracketed one, an empty one, and a
// Host beside the URL's.
func TestAlignHostReturnsHostOf(t *testing.T) {
	hosts := []string{
		"", "api.example.test", "API.Example.test:8443", "[2001:db8::1]:443", "[fe80::1%25eth0]",
		"bücher.example.test", "BÜCHER.example.test", "bücher。example.test:8443", "xn--bcher-kva.example.test",
		"[bücher]", "a\u00a0b.example", "\xff.example", "exa mple.test", "bücher.example.test:44x", "ß.example",
	}
	for _, urlHost := range hosts {
		for _, reqHost := range append([]string{""}, hosts...) {
			req := &http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "https", Host: urlHost, Path: "/"}, Host: reqHost}
			got := alignHost(req)
			if want := hostOf(req); got != want {
				t.Errorf("URL.Host %q, Host %q: alignHost = %q, hostOf after it = %q", urlHost, reqHost, got, want)
			}
		}
	}
	noURL := &http.Request{Method: http.MethodGet}
	if got, want := alignHost(noURL), hostOf(noURL); got != want {
		t.Errorf("no URL: alignHost = %q, hostOf = %q", got, want)
	}
}
