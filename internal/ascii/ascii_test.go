package ascii

import (
	"strings"
	"testing"
)

func TestHasCTL(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"", false},
		{"plain token-value_~!", false},
		{"caf\u00e9", false}, // bytes ≥ 0x80 are not controls
		{"a\x00b", true},
		{"tok\n", true},
		{"\r", true},
		{"a\tb", true},
		{"\x1f", true},
		{"x\x7f", true},
		{" ", false},
	} {
		if got := HasCTL(tc.s); got != tc.want {
			t.Errorf("HasCTL(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestIs(t *testing.T) {
	for s, want := range map[string]bool{
		"": true, "a": true, "api.example.test": true, "api.example.test:8443": true,
		"bücher.example": false, "api.example.tesü": false, "ü": false, "abcdefgü": false,
		"abcdefghü": false, "\x7f\x00 ~": true, "abcdefgh\x80": false, "\x80abcdefgh": false,
	} {
		if got := Is(s); got != want {
			t.Errorf("Is(%q) = %v, want %v", s, got, want)
		}
	}
	// Every position of a non-ASCII byte in strings up to 20 bytes long.
	for n := 1; n <= 20; n++ {
		for i := range n {
			b := []byte(strings.Repeat("a", n))
			b[i] = 0xc3
			if Is(string(b)) {
				t.Errorf("Is(%q) = true", b)
			}
		}
	}
}

func TestIsToken(t *testing.T) {
	for s, want := range map[string]bool{
		"Bearer": true, "DPoP": true, "json": true, "vnd.api+json": true, "*": true,
		"!#$%&'*+-.^_`|~09azAZ": true, "": false, "Bea rer": false, "a\tb": false,
		"a\x7f": false, "bé": false, "a/b": false, "a;b": false, `a"b`: false, "a=b": false,
		"a,b": false, "(a)": false, "a:b": false, "a@b": false, "[a]": false, "{a}": false, `a\b`: false, "a?": false, "<a>": false,
	} {
		if got := IsToken(s); got != want {
			t.Errorf("IsToken(%q) = %v, want %v", s, got, want)
		}
	}
}
