package transport

import (
	"strings"
	"testing"

	"golang.org/x/net/idna"
)

// originHostRef is originHost as it was before its one-pass fast path: the
// reference the fast path must agree with on every host.
func originHostRef(h string) (host string, ok bool) {
	if !isASCII(h) {
		a, err := idna.Lookup.ToASCII(h)
		if err != nil {
			return strings.TrimSuffix(lowerASCII(h), "."), false
		}
		h = a
	}
	return strings.TrimSuffix(strings.ToLower(h), "."), true
}

func TestOriginHostOnePassAgreesWithRef(t *testing.T) {
	hosts := []string{
		"", ".", "..", "api.example.test", "api.example.test.", "api.example.test..",
		"API.Example.test", "API.EXAMPLE.TEST.", "127.0.0.1", "[::1]", "[FE80::1%ETH0]",
		"bücher.example", "Bücher.Example.", "b\xffcher.example", "\u212A_svc.internal",
		"a@b", "A", "z", "@", "[", "`", "{", "\x7f", "\x80", strings.Repeat("a", 254),
		strings.Repeat("A", 254) + ".",
	}
	for _, h := range hosts {
		gh, gok := originHost(h)
		wh, wok := originHostRef(h)
		if gh != wh || gok != wok {
			t.Errorf("originHost(%q) = %q, %v; want %q, %v", h, gh, gok, wh, wok)
		}
	}
}

func TestOriginHostLowerCaseASCIINoAllocs(t *testing.T) {
	h := "api.example.test."
	if n := testing.AllocsPerRun(100, func() { originHost(h) }); n != 0 {
		t.Errorf("originHost(%q): %v allocs, want 0", h, n)
	}
}

func FuzzOriginHostOnePass(f *testing.F) {
	f.Add("API.Example.test.")
	f.Add("bücher.example")
	f.Fuzz(func(t *testing.T, h string) {
		gh, gok := originHost(h)
		wh, wok := originHostRef(h)
		if gh != wh || gok != wok {
			t.Errorf("originHost(%q) = %q, %v; want %q, %v", h, gh, gok, wh, wok)
		}
	})
}

func TestLowerSchemeAgreesWithToLower(t *testing.T) {
	for _, s := range []string{"", "https", "http", "HTTPS", "Http", "ws", "httpS", "https ", "ftp", "h\xfftp", "HTTPſ"} {
		if got, want := lowerScheme(s), strings.ToLower(s); got != want {
			t.Errorf("lowerScheme(%q) = %q; want %q", s, got, want)
		}
	}
}

func FuzzLowerScheme(f *testing.F) {
	f.Add("https")
	f.Add("HTTP")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := lowerScheme(s), strings.ToLower(s); got != want {
			t.Errorf("lowerScheme(%q) = %q; want %q", s, got, want)
		}
	})
}
