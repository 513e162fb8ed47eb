package ascii

import "testing"

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
