package openapi_test

import (
	"strings"
	"testing"
)

// TestResponseHeaderRepeatedIsViolation: openapi3filter validates the
// first field line of a scalar response header only, so a second one
// breaking its schema (X-Rate: 1, X-Rate: 99999) reached the caller,
// whose reader may take the last line or both joined. A scalar header
// on more than one line is a violation, as a request's is; an array
// header's lines are one list, every item validated.
func TestResponseHeaderRepeatedIsViolation(t *testing.T) {
	s := spec18(`[{url: "https://api.example.test/v1"}]`, "")
	for _, c := range []struct {
		name string
		kv   []string
		want string // a reason's part, "" for none
	}{
		{"scalar once", []string{"X-Rate", "1"}, ""},
		{"scalar twice, second breaks", []string{"X-Rate", "1", "X-Rate", "99999"}, `"X-Rate" sent more than once`},
		{"scalar twice, both valid", []string{"X-Rate", "1", "X-Rate", "2"}, `"X-Rate" sent more than once`},
		{"array over two lines", []string{"X-Tags", "1, 2", "X-Tags", "3"}, ""},
		{"array, second line breaks", []string{"X-Tags", "1", "X-Tags", "99999"}, `"X-Tags"`},
		{"undeclared header twice", []string{"X-Other", "a", "X-Other", "b"}, ""},
	} {
		ve, _ := call18(t, s, "https://api.example.test/v1/pets/1", 200, c.kv...)
		switch {
		case c.want == "" && ve != nil:
			t.Errorf("%s: %v, want no violation", c.name, ve)
		case c.want != "" && (ve == nil || !strings.Contains(ve.Reason, c.want)):
			t.Errorf("%s: %v, want a violation %q", c.name, ve, c.want)
		}
	}
}
