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

// TestWordChecks holds HasCTL and IsPrintable, which read eight bytes at a
// time, to the byte-at-a-time rule, for every byte value at every position
// of strings of 1 to 24 bytes, over printable and over high-bit fillers
// (a filler of 0xff carries in IsPrintable's addition, 0x80 borrows in
// neither), as a string and as a []byte.
func TestWordChecks(t *testing.T) {
	refCTL := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if b := s[i]; b < ' ' || b == 0x7f {
				return true
			}
		}
		return false
	}
	refPrintable := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if b := s[i]; b < 0x20 || b > 0x7e {
				return false
			}
		}
		return true
	}
	for _, fill := range []byte{'a', ' ', '~', 0x80, 0xff, 0x21, 0x1f} {
		for n := 1; n <= 24; n++ {
			for pos := 0; pos < n; pos++ {
				for v := 0; v < 256; v++ {
					b := make([]byte, n)
					for i := range b {
						b[i] = fill
					}
					b[pos] = byte(v)
					s := string(b)
					if got, want := HasCTL(s), refCTL(s); got != want {
						t.Fatalf("HasCTL(%q) = %v, want %v", s, got, want)
					}
					if got, want := HasCTL(b), refCTL(s); got != want {
						t.Fatalf("HasCTL([]byte %q) = %v, want %v", s, got, want)
					}
					if got, want := IsPrintable(s), refPrintable(s); got != want {
						t.Fatalf("IsPrintable(%q) = %v, want %v", s, got, want)
					}
					if got, want := IsPrintable(b), refPrintable(s); got != want {
						t.Fatalf("IsPrintable([]byte %q) = %v, want %v", s, got, want)
					}
				}
			}
		}
	}
	if HasCTL("") || !IsPrintable("") {
		t.Fatal("empty string")
	}
}
