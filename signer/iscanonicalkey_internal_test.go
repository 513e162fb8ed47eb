package signer

import (
	"crypto/tls"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
)

// isCanonicalKeyRef is the check mergeKeys made before isCanonicalKey: the
// reference isCanonicalKey must agree with on every key.
func isCanonicalKeyRef(k string) bool {
	return textproto.CanonicalMIMEHeaderKey(k) == k
}

func TestIsCanonicalKeyAgreesWithRef(t *testing.T) {
	keys := []string{
		"", "a", "A", "-", "--", "-a", "-A", "a-", "A-", "Authorization", "authorization",
		"AUTHORIZATION", "X-Api-Key", "x-api-key", "X-API-Key", "X-Api-key", "X--Api",
		"X--api", "Content-Type", "Signature-Input", "1a", "1A", "A1b", "A1B", "A.b", "A.B",
		"A_b", "A_B", "a b", "A b", "A B", "a\x00b", "Ab\x00", "ab\x00", "x-api-key ",
		"X-Api-Key:", "Ü", "ü", "aü", "Aü", "Aü-b", "X-\xff", "x-\xff", "\xffA", "\xffa",
		"Te", "TE", "te", "Www-Authenticate", "WWW-Authenticate", strings.Repeat("a", 100),
		"Cookie", "COOKIE", "cookie", "A-b-C", "A-B-C",
	}
	for _, k := range keys {
		if got, want := isCanonicalKey(k), isCanonicalKeyRef(k); got != want {
			t.Errorf("isCanonicalKey(%q) = %v; want %v", k, got, want)
		}
	}
}

func FuzzIsCanonicalKey(f *testing.F) {
	f.Add("X-Api-Key")
	f.Add("x-API-key ")
	f.Fuzz(func(t *testing.T, k string) {
		if got, want := isCanonicalKey(k), isCanonicalKeyRef(k); got != want {
			t.Errorf("isCanonicalKey(%q) = %v; want %v", k, got, want)
		}
	})
}

// clientSchemeRef is clientScheme before its fast path for a lower-case
// "https" or "http".
func clientSchemeRef(r *http.Request) string {
	if r.URL != nil && r.URL.Scheme != "" {
		return strings.ToLower(r.URL.Scheme)
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func TestClientSchemeAgreesWithRef(t *testing.T) {
	for _, s := range []string{"", "https", "http", "HTTPS", "Http", "ws", "httpS", "https ", "HTTPſ"} {
		for _, tls := range []*tls.ConnectionState{nil, {}} {
			r := &http.Request{URL: &url.URL{Scheme: s}, TLS: tls}
			if got, want := clientScheme(r), clientSchemeRef(r); got != want {
				t.Errorf("clientScheme(%q, TLS %v) = %q; want %q", s, tls != nil, got, want)
			}
		}
	}
	if got, want := clientScheme(&http.Request{}), clientSchemeRef(&http.Request{}); got != want {
		t.Errorf("clientScheme(no URL) = %q; want %q", got, want)
	}
}
