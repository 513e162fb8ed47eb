package openapi

import "testing"

// TestHasLongDigitsForms: the gate of the exact checks sees a number of
// 16 digits or more in any form longNumber reads, and not a UUID's
// "550e8400" nor a short number.
func TestHasLongDigitsForms(t *testing.T) {
	for s, want := range map[string]bool{
		"9007199254740993":                     true,
		"9007199254740993.0":                   true,
		"9.007199254740993e15":                 true,
		"1e23":                                 true,
		"1E+23":                                true,
		"n=1e%2B23":                            true,
		"n=1e%2b23&m=2":                        true,
		"550e8400-e29b-41d4-a716-446655440000": false,
		"1e15":                                 true,
		"1e14":                                 false,
		"1.5":                                  false,
		"123456789012345.x":                    false,
		"v1.2.3e":                              false,
	} {
		if got := hasLongDigits(s); got != want {
			t.Errorf("hasLongDigits(%q) = %v, want %v", s, got, want)
		}
	}
}
