package openapi

import "testing"

// TestLongNumberForms: longNumber gives the integer a JSON number of 16
// digits or more writes in any form, and tells a long one with a
// fraction of its own; a short one costs no allocation.
func TestLongNumberForms(t *testing.T) {
	for s, want := range map[string]struct {
		text       string
		fractional bool
	}{
		"9007199254740993":       {"9007199254740993", false},
		"9007199254740993.0":     {"9007199254740993", false},
		"-9.007199254740993E+15": {"-9007199254740993", false},
		"0.9007199254740993e16":  {"9007199254740993", false},
		"90071992547409930e-1":   {"9007199254740993", false},
		"1e23":                   {"100000000000000000000000", false},
		"9007199254740991.5":     {"", true},
		"1.5":                    {"", false},
		"1e15":                   {"1000000000000000", false},
		"1e14":                   {"", false},
		"0e400":                  {"", false},
		"1e500":                  {"", false},
		"0.0000000000000000001":  {"", false},
	} {
		text, fractional := longNumber(s)
		if text != want.text || fractional != want.fractional {
			t.Errorf("longNumber(%q) = %q, %v; want %q, %v", s, text, fractional, want.text, want.fractional)
		}
	}
	if n := testing.AllocsPerRun(100, func() { longNumber("12345.678") }); n != 0 {
		t.Errorf("longNumber of a short number: %v allocations", n)
	}
}
