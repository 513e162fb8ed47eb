package client

import (
	"strings"
	"testing"
)

// hasSpaceOrHash must answer as strings.ContainsAny(s, " #"), which
// checkRequest used, for any bytes (invalid UTF-8 included).
func TestHasSpaceOrHashAgreesWithContainsAny(t *testing.T) {
	for _, s := range []string{"", "page=2", "a b", "a#b", "#", " ", "a%20b", "\xff#", "é", "\xe2\x80\xa8", "a\x00b", "\xc3"} {
		if got, want := hasSpaceOrHash(s), strings.ContainsAny(s, " #"); got != want {
			t.Errorf("hasSpaceOrHash(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzHasSpaceOrHash(f *testing.F) {
	f.Add("page=2#x")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := hasSpaceOrHash(s), strings.ContainsAny(s, " #"); got != want {
			t.Errorf("hasSpaceOrHash(%q) = %v, want %v", s, got, want)
		}
	})
}
