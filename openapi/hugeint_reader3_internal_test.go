package openapi

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestHugeIntegerNotParsed: an integer of any length was parsed into a
// big.Rat, which reads a decimal string in time quadratic in its length:
// a response of 1 MiB (the default MaxBodyBytes) with one run of digits
// under a schema that is {} (kin-openapi does not read it) cost seconds
// of CPU a response, and a request with Options.MultiError the same
// under any numeric schema. An integer is parsed only under a schema
// with a keyword it is checked against, and one of more than
// maxExactDigits significant digits, beyond every float64 and so every
// bound, is not parsed: it breaks a bound by its sign. Checked by the
// bytes allocated (a big.Rat of 1 MiB of digits takes over 400 KiB),
// not by time.
func TestHugeIntegerNotParsed(t *testing.T) {
	digits := strings.Repeat("7", 1<<20)
	ptr := func(f float64) *float64 { return &f }
	integer := &openapi3.Types{openapi3.TypeInteger}
	for _, tc := range []struct {
		name   string
		schema *openapi3.Schema
		value  string
		want   string // the keyword broken, "" for none
	}{
		{"any", &openapi3.Schema{}, digits, ""},
		{"maximum", &openapi3.Schema{Type: integer, Max: ptr(10)}, digits, "maximum"},
		{"maximum, negative", &openapi3.Schema{Type: integer, Max: ptr(10)}, "-" + digits, ""},
		{"minimum, negative", &openapi3.Schema{Type: integer, Min: ptr(-10)}, "-" + digits, "minimum"},
		{"exclusiveMaximum", &openapi3.Schema{Type: integer, ExclusiveMax: openapi3.ExclusiveBound{Value: ptr(10)}}, "+" + digits, "exclusiveMaximum"},
		{"exclusiveMinimum, 3.0", &openapi3.Schema{Type: integer, Min: ptr(-10), ExclusiveMin: openapi3.ExclusiveBound{Bool: new(true)}}, "-" + digits, "exclusiveMinimum"},
		{"format int64", &openapi3.Schema{Type: integer, Format: "int64"}, digits, "format"},
		{"type", &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}}, digits, "type"},
		{"enum", &openapi3.Schema{Type: integer, Enum: []any{5.0}}, digits, "enum"},
		{"leading zeros, in range", &openapi3.Schema{Type: integer, Max: ptr(10)}, strings.Repeat("0", 1<<20) + "9", ""},
		{"leading zeros, out of range", &openapi3.Schema{Type: integer, Max: ptr(10)}, strings.Repeat("0", 1<<20) + "11", "maximum"},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		w := intWalk{}
		f := w.check(&openapi3.SchemaRef{Value: tc.schema}, json.Number(tc.value), nil, 0)
		runtime.ReadMemStats(&after)
		got := ""
		if f != nil {
			got = f.keyword
		}
		if got != tc.want {
			t.Errorf("%s: keyword %q, want %q", tc.name, got, tc.want)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
			t.Errorf("%s: %d bytes allocated to check the integer, want at most 64 KiB", tc.name, n)
		}
	}
}
