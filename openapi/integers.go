package openapi

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// kin-openapi compares a number with minimum, maximum, exclusiveMinimum,
// exclusiveMaximum and multipleOf, and an integer with the range of format
// int32 or int64, as a float64, which holds every integer only up to 2^53:
// 9007199254740993 is the float64 9007199254740992, and so passed a
// maximum of 9007199254740992 to an upstream that reads it as an int64,
// and 9223372036854775808 (2^63) passed format int64. The checks below
// hold an integer written as one (decimal digits, no fraction or
// exponent), and one written with a zero fraction or an exponent
// (longNumber: in a JSON body, or a value of type number elsewhere, as a
// value of type integer so written is refused by openapi3filter), and a
// number of 16 significant digits or more with a fraction of its own
// (longFraction), to those keywords exactly, after openapi3filter.
// Below 16 digits a float64 holds the integer exactly and they are
// skipped. The
// bounds themselves are kin-openapi's float64s but for an integer of
// Config.Spec that no float64 holds, which is the integer written
// (exactNumbersOf); with Config.Doc, a bound of the description that is
// no float64 is the float64 nearest it. A fractional
// multipleOf is the decimal the description writes (divisor). An integer
// of more than maxExactDigits significant digits is not parsed: it is
// beyond every bound (hugeFailure).

// longInt reports whether s is an integer written as decimal digits, with
// an optional sign, long enough (16 digits or more) that a float64 may not
// hold it.
func longInt(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	if len(s) < 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// longNumber classifies the JSON number text s for the exact checks: text
// is the integer s writes, as decimal digits with an optional sign
// (longInt), when it is an integer of 16 digits or more in any form
// ("9007199254740993", "9007199254740993.0", "9.007199254740993e15");
// fractional reports a number of 16 significant digits or more that is
// no integer ("9007199254740991.5"), whose float64 may be one. An
// integer of more than maxExactDigits+1 digits written with an exponent
// is neither: no float64 holds it, and openapi3filter refuses it.
func longNumber(s string) (text string, fractional bool) {
	if longInt(s) {
		return s, false
	}
	sign := ""
	if s != "" && (s[0] == '-' || s[0] == '+') {
		sign, s = s[:1], s[1:]
	}
	digitsEnd := func(s string) int {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i
	}
	i := digitsEnd(s)
	intPart, rest := s[:i], s[i:]
	if intPart == "" {
		return "", false
	}
	var frac string
	if r, ok := strings.CutPrefix(rest, "."); ok {
		j := digitsEnd(r)
		if j == 0 {
			return "", false
		}
		frac, rest = r[:j], r[j:]
	}
	if rest == "" && len(intPart)+len(frac) < 16 {
		// A float64 holds it as written, or the nearest it.
		return "", false
	}
	exp := 0
	if rest != "" {
		if rest[0] != 'e' && rest[0] != 'E' {
			return "", false
		}
		e, err := strconv.Atoi(strings.TrimPrefix(rest[1:], "+"))
		if err != nil || e > maxExactDigits+1 || e < -(maxExactDigits+1) {
			return "", false
		}
		exp = e
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return "", false // zero
	}
	point := len(digits) - len(frac) + exp // digits before the decimal point
	if sig := strings.TrimRight(digits, "0"); point < len(sig) {
		// A fraction of its own.
		return "", len(sig) >= 16 && len(sig) <= maxExactDigits
	}
	if point < 16 || point > maxExactDigits+1 {
		return "", false
	}
	return sign + digits[:min(point, len(digits))] + strings.Repeat("0", max(point-len(digits), 0)), false
}

// longFraction returns the number s writes exactly when it has a
// fraction of its own and 16 significant digits or more (longNumber's
// fractional: "9007199254740992.5", "0.30000000000000001"), whose float64
// is another number; nil otherwise, and for one whose point is more than
// maxExactDigits+1 digits from its first significant digit (no bound of
// a description is that small). The value is built from its significant
// digits, so that zeros around them cost no parsing.
func longFraction(s string) *big.Rat {
	if _, fractional := longNumber(s); !fractional {
		return nil
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg, s = s[0] == '-', s[1:]
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil {
			return nil
		}
		mant, exp = s[:i], e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	point := len(digits) - len(frac) + exp
	sig := strings.TrimRight(digits, "0")
	if point < -(maxExactDigits+1) || len(sig) > maxExactDigits {
		return nil
	}
	r, ok := new(big.Rat).SetString(sig + "e" + strconv.Itoa(point-len(sig)))
	if !ok {
		return nil
	}
	if neg {
		r.Neg(r)
	}
	return r
}

// maxIntDepth bounds the nesting of allOf, anyOf and oneOf followed, and
// of the JSON value walked (a schema may refer to itself).
const maxIntDepth = 64

var (
	minInt32 = big.NewRat(math.MinInt32, 1)
	maxInt32 = big.NewRat(math.MaxInt32, 1)
	minInt64 = big.NewRat(math.MinInt64, 1)
	maxInt64 = big.NewRat(math.MaxInt64, 1)
)

// intFailure is where a value breaks a keyword exactly: the JSON pointer
// of the value (nil for the whole) and the keyword.
type intFailure struct {
	at      []string
	keyword string
}

// reason renders f without the value.
func (f *intFailure) reason() string {
	r := "integer fails " + strconv.Quote(f.keyword) + " (compared exactly)"
	if len(f.at) > 0 {
		return "at /" + strings.Join(f.at, "/") + ": " + r
	}
	return r
}

// maxExactDigits bounds the significant digits of an integer parsed into
// a big.Rat, which reads a decimal string in time quadratic in its length
// (1 MiB of digits, within MaxBodyBytes, took seconds and gigabytes). An
// integer with more is beyond every float64 (the largest has 309 digits),
// and so beyond every bound of the description (hugeFailure).
const maxExactDigits = 400

// constrainsNumber reports whether s has a keyword numberFailure checks a
// number against: an integer under a schema without one ({}) is not
// parsed.
func constrainsNumber(s *openapi3.Schema) bool {
	return s.Type != nil || s.Min != nil || s.Max != nil || s.ExclusiveMin.IsSet() || s.ExclusiveMax.IsSet() ||
		s.MultipleOf != nil || len(s.Enum) > 0 || s.Const != nil
}

// integerFailure returns the keyword of s the integer text (longInt)
// breaks, or "": numberFailure, or hugeFailure for one of more than
// maxExactDigits significant digits.
func integerFailure(s *openapi3.Schema, text string, e *exactSchema) string {
	neg := text[0] == '-'
	digits := strings.TrimLeft(strings.TrimLeft(text, "+-"), "0")
	if len(digits) > maxExactDigits {
		return hugeFailure(s, neg)
	}
	if digits == "" {
		digits = "0"
	}
	n, ok := new(big.Rat).SetString(digits)
	if !ok {
		return ""
	}
	if neg {
		n.Neg(n)
	}
	return numberFailure(s, n, e)
}

// hugeFailure returns the keyword of s an integer of more than
// maxExactDigits significant digits (negative or not) breaks, or "": it
// is above every finite maximum and below every finite minimum, and no
// float64 of an enum or const is it. Its multipleOf is left to
// openapi3filter, which refuses a number it cannot read as a float64.
func hugeFailure(s *openapi3.Schema, neg bool) string {
	if s.Type != nil && !s.Type.Permits(openapi3.TypeInteger) && !s.Type.Permits(openapi3.TypeNumber) {
		return "type"
	}
	finite := func(f *float64) bool { return f != nil && !math.IsNaN(*f) && !math.IsInf(*f, 0) }
	exclusive := func(eb openapi3.ExclusiveBound, inclusive *float64) bool {
		return finite(eb.Value) || eb.Value == nil && eb.Bool != nil && *eb.Bool && finite(inclusive)
	}
	switch {
	case neg && exclusive(s.ExclusiveMin, s.Min):
		return "exclusiveMinimum"
	case !neg && exclusive(s.ExclusiveMax, s.Max):
		return "exclusiveMaximum"
	case neg && finite(s.Min):
		return "minimum"
	case !neg && finite(s.Max):
		return "maximum"
	case len(s.Enum) > 0:
		return "enum"
	case s.Const != nil:
		return "const"
	case s.Type.Permits(openapi3.TypeInteger) && !s.Type.Permits(openapi3.TypeNumber) && (s.Format == "int32" || s.Format == "int64"):
		return "format"
	}
	return ""
}

// numberFailure returns the keyword of s the number v (an integer, or a
// number with a fraction of its own: longFraction) breaks, or "". e
// (nil: none) holds the numbers s writes that no float64 holds
// (exactNumbersOf), which are used instead of kin-openapi's float64s.
func numberFailure(s *openapi3.Schema, v *big.Rat, e *exactSchema) string {
	if s.Type != nil && !s.Type.Permits(openapi3.TypeInteger) && !s.Type.Permits(openapi3.TypeNumber) {
		return "type"
	}
	if e == nil {
		e = &exactSchema{}
	}
	// exact returns the exact number x when the description wrote one
	// no float64 holds, else the float64 f: the decimal the description
	// writes for one with a fraction (divisor: 0.3, not the float64
	// 0.29999999999999998889..., which "0.29999999999999999" is above).
	exact := func(x *big.Rat, f float64) *big.Rat {
		if x != nil {
			return x
		}
		return divisor(f)
	}
	if eb := s.ExclusiveMin; eb.IsSet() {
		var b *big.Rat
		if eb.Value != nil {
			b = exact(e.exclusiveMin, *eb.Value)
		} else if eb.Bool != nil && *eb.Bool && s.Min != nil {
			b = exact(e.min, *s.Min)
		}
		if b != nil && v.Cmp(b) <= 0 {
			return "exclusiveMinimum"
		}
	}
	if eb := s.ExclusiveMax; eb.IsSet() {
		var b *big.Rat
		if eb.Value != nil {
			b = exact(e.exclusiveMax, *eb.Value)
		} else if eb.Bool != nil && *eb.Bool && s.Max != nil {
			b = exact(e.max, *s.Max)
		}
		if b != nil && v.Cmp(b) >= 0 {
			return "exclusiveMaximum"
		}
	}
	if s.Min != nil {
		if b := exact(e.min, *s.Min); b != nil && v.Cmp(b) < 0 {
			return "minimum"
		}
	}
	if s.Max != nil {
		if b := exact(e.max, *s.Max); b != nil && v.Cmp(b) > 0 {
			return "maximum"
		}
	}
	if s.MultipleOf != nil {
		m := e.multipleOf
		if m == nil {
			m = divisor(*s.MultipleOf)
		}
		if m != nil && m.Sign() > 0 && !new(big.Rat).Quo(v, m).IsInt() {
			return "multipleOf"
		}
	}
	inEnum := func() bool {
		for i, m := range s.Enum {
			if i < len(e.enum) && e.enum[i] != nil {
				if e.enum[i].Cmp(v) == 0 {
					return true
				}
			} else if sameNumber(m, v) {
				return true
			}
		}
		return false
	}
	if len(s.Enum) > 0 && !inEnum() {
		// An enum of a branch the value passes only rounded.
		return "enum"
	}
	if s.Const != nil && (e.constant == nil && !sameNumber(s.Const, v) || e.constant != nil && e.constant.Cmp(v) != 0) {
		return "const"
	}
	if s.Type.Permits(openapi3.TypeInteger) && !s.Type.Permits(openapi3.TypeNumber) {
		switch s.Format {
		case "int32":
			if v.Cmp(minInt32) < 0 || v.Cmp(maxInt32) > 0 {
				return "format"
			}
		case "int64":
			if v.Cmp(minInt64) < 0 || v.Cmp(maxInt64) > 0 {
				return "format"
			}
		}
	}
	return ""
}

// divisor returns multipleOf's f as a big.Rat: f itself when it is an
// integer, else the shortest decimal that reads back as f, which is the
// one the description writes ("0.01", of which 12345678901234567 is a
// multiple; the float64 0.01 is 0.01000000000000000020816..., of which no
// integer of 16 digits or more is). nil for NaN and the infinities.
func divisor(f float64) *big.Rat {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	if f == math.Trunc(f) {
		return new(big.Rat).SetFloat64(f)
	}
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, 64))
	if !ok {
		return new(big.Rat).SetFloat64(f)
	}
	return r
}

// intWalk holds a JSON value's walk against a schema.
type intWalk struct {
	exact    exactNumbers // the description's integers no float64 holds
	patterns map[string]*regexp.Regexp
	memo     map[walkKey]*intFailure // an object's or array's verdicts
	checks   int                     // calls of check, for tests
}

// walkKey is a schema's check of the value at a JSON pointer, at a depth.
type walkKey struct {
	schema *openapi3.Schema
	at     string
	depth  int
}

// check returns where v (a JSON value decoded with UseNumber, or a
// parameter's json.Number) breaks a numeric keyword of ref exactly, for
// the integers of 16 digits or more in it (longNumber), following allOf
// (each), anyOf and oneOf (one branch must pass: the value is held to
// the branch it may pass; not, if, then and else are left to
// openapi3filter), properties, patternProperties, additionalProperties,
// items and prefixItems. nil: none. A schema's verdict on an object or
// array is worked out once a walk: anyOf and oneOf try each branch, and
// a tree schema whose node is a choice of branches that all reach the
// child would check the child at depth d 2^d times.
func (w *intWalk) check(ref *openapi3.SchemaRef, v any, at []string, depth int) *intFailure {
	w.checks++
	if ref == nil || ref.Value == nil || depth > maxIntDepth {
		return nil
	}
	switch v.(type) {
	case map[string]any, []any:
	default:
		return w.visit(ref.Value, v, at, depth)
	}
	// The pointer's tokens are escaped (escapePointer): joined, they name
	// one value.
	key := walkKey{ref.Value, strings.Join(at, "/"), depth}
	if f, ok := w.memo[key]; ok {
		return f
	}
	f := w.visit(ref.Value, v, at, depth)
	if w.memo == nil {
		w.memo = make(map[walkKey]*intFailure)
	}
	w.memo[key] = f
	return f
}

// visit is check's work on v against s.
func (w *intWalk) visit(s *openapi3.Schema, v any, at []string, depth int) *intFailure {
	switch v := v.(type) {
	case json.Number:
		if !constrainsNumber(s) {
			break
		}
		text, fractional := longNumber(string(v))
		if text != "" {
			if k := integerFailure(s, text, w.exact[s]); k != "" {
				return &intFailure{at: at, keyword: k}
			}
		} else if fractional && s.Type.Permits(openapi3.TypeInteger) && !s.Type.Permits(openapi3.TypeNumber) {
			// openapi3filter took the float64 it rounds to for an
			// integer.
			return &intFailure{at: at, keyword: "type"}
		} else if r := longFraction(string(v)); r != nil {
			// openapi3filter compared the float64 it rounds to.
			if k := numberFailure(s, r, w.exact[s]); k != "" {
				return &intFailure{at: at, keyword: k}
			}
		}
	case map[string]any:
		for name, mv := range v {
			sub := append(at[:len(at):len(at)], escapePointer(name))
			for _, r := range memberSchemas([]*openapi3.Schema{s}, name, w.patterns) {
				if f := w.check(r, mv, sub, depth+1); f != nil {
					return f
				}
			}
		}
	case []any:
		for i, iv := range v {
			r := s.Items
			if i < len(s.PrefixItems) {
				r = s.PrefixItems[i]
			}
			if f := w.check(r, iv, append(at[:len(at):len(at)], strconv.Itoa(i)), depth+1); f != nil {
				return f
			}
		}
	}
	for _, r := range s.AllOf {
		if f := w.check(r, v, at, depth+1); f != nil {
			return f
		}
	}
	for _, branches := range []struct {
		refs    openapi3.SchemaRefs
		keyword string
	}{{s.AnyOf, "anyOf"}, {s.OneOf, "oneOf"}} {
		if len(branches.refs) == 0 {
			continue
		}
		passes := false
		for _, r := range branches.refs {
			if w.check(r, v, at, depth+1) == nil {
				passes = true
				break
			}
		}
		if !passes {
			return &intFailure{at: at, keyword: branches.keyword}
		}
	}
	return nil
}

// escapePointer escapes a member name as a JSON pointer token.
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// jsonIntegers returns where the JSON value buf breaks a numeric keyword
// of root exactly (intWalk.check); nil when it does not, or is not JSON.
func jsonIntegers(buf []byte, root *openapi3.SchemaRef, ex exactNumbers) *intFailure {
	dec := json.NewDecoder(bytes.NewReader(buf))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	w := intWalk{exact: ex, patterns: make(map[string]*regexp.Regexp)}
	return w.check(root, v, nil, 0)
}

// paramIntegers returns a violation for each scalar or array parameter of
// ps of type integer or number (or an array of them) whose value, or an
// item of it, is an integer of 16 digits or more in any form
// (longNumber: "9007199254740993", "9007199254740993.0") that breaks a numeric keyword of its schema exactly:
// openapi3filter reads an integer parameter as an int64 exactly, but
// compares it as a float64 ("?limit=9007199254740993" passed a maximum of
// 9007199254740992). An object parameter, and one described by content,
// are left to openapi3filter. A request without a run of 16 digits where
// a parameter is read costs a scan of those values, nothing more.
func paramIntegers(in *openapi3filter.RequestValidationInput, ps []*openapi3.Parameter, ex exactNumbers) []error {
	var errs []error
	for _, p := range ps {
		if p.Content != nil || p.Schema == nil || p.Schema.Value == nil || p.Schema.Value.Type.Is(openapi3.TypeObject) {
			continue
		}
		schema := p.Schema
		array := p.Schema.Value.Type.Is(openapi3.TypeArray)
		if array {
			schema = p.Schema.Value.Items
		}
		if schema == nil || schema.Value == nil || !schema.Value.Type.Is(openapi3.TypeInteger) && !schema.Value.Type.Is(openapi3.TypeNumber) {
			// Digits of a string, or of a value whose type openapi3filter
			// guesses, are left to it.
			continue
		}
		var raws []string
		switch p.In {
		case openapi3.ParameterInQuery:
			if in.Options.ExcludeRequestQueryParams {
				continue
			}
			raws = in.GetQueryParams()[p.Name]
		case openapi3.ParameterInPath:
			if v, ok := in.PathParams[p.Name]; ok && hasLongDigits(v) {
				raws = []string{v}
			}
		case openapi3.ParameterInHeader:
			raws = headerValues(in.Request.Header, p.Name)
		case openapi3.ParameterInCookie:
			if slices.ContainsFunc(in.Request.Header.Values("Cookie"), hasLongDigits) {
				for _, c := range requestCookies(in.Request.Header, p.Name) {
					raws = append(raws, c.Value)
				}
			}
		}
		if !slices.ContainsFunc(raws, hasLongDigits) {
			continue
		}
		sm, err := p.SerializationMethod()
		if err != nil {
			continue
		}
		var f *intFailure
		i := 0 // the item's index, over the values of an exploded array
		for _, raw := range raws {
			if p.In == openapi3.ParameterInPath {
				switch sm.Style {
				case "label":
					raw = strings.TrimPrefix(raw, ".")
				case "matrix":
					// ";p=1" or, exploded, ";p=1;p=2".
					raw = strings.TrimPrefix(strings.ReplaceAll(raw, ";"+p.Name+"=", ","), ",")
				}
			}
			items := []string{raw}
			if array {
				items = strings.FieldsFunc(raw, func(r rune) bool {
					return r == ',' || r == '.' && sm.Style == "label" || r == ' ' && sm.Style == "spaceDelimited" || r == '|' && sm.Style == "pipeDelimited"
				})
			}
			for _, item := range items {
				item = strings.TrimSpace(item)
				if longNumberText(item) {
					w := intWalk{exact: ex, patterns: make(map[string]*regexp.Regexp)}
					if f = w.check(schema, json.Number(item), nil, 0); f != nil {
						if array {
							f.at = []string{strconv.Itoa(i)}
						}
						break
					}
				}
				i++
			}
			if f != nil {
				break
			}
		}
		if f != nil {
			errs = append(errs, &openapi3filter.RequestError{Input: in, Parameter: p, Reason: f.reason()})
		}
	}
	return errs
}

// headerValues returns the values of h's field name, as h.Values(name)
// does, without the allocation of canonicalizing a name not written
// canonically ("x-request-id", as descriptions often write it): the key
// equal to it ignoring case (the request's header is canonical here:
// canonicalHeader).
func headerValues(h http.Header, name string) []string {
	if vs, ok := h[name]; ok {
		return vs
	}
	for k, vs := range h {
		if strings.EqualFold(k, name) {
			return vs
		}
	}
	return nil
}

// hasLongDigits reports whether s may write a number of 16 digits or
// more (longNumber): a run of 16 digits, a decimal point within it or
// not ("9007199254740993", "9007199254740993.0", "9.007199254740993e15"),
// or digits whose exponent takes them to 16 digits or more ("1e23"; its
// sign may be percent-encoded, "1e%2B23", as in a raw query). A UUID's
// "550e8400" is not one: no such exponent is read (maxExactDigits).
func hasLongDigits(s string) bool {
	n := 0 // digits of the run, a point aside
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if n++; n >= 16 {
				return true
			}
		case c == '.' && n > 0:
		case (c == 'e' || c == 'E') && n > 0:
			j := i + 1
			if j < len(s) && s[j] == '+' {
				j++
			} else if len(s)-j >= 3 && s[j] == '%' && s[j+1] == '2' && (s[j+2] == 'B' || s[j+2] == 'b') {
				j += 3
			}
			e, k := 0, j
			for ; k < len(s) && s[k] >= '0' && s[k] <= '9' && e <= maxExactDigits+1; k++ {
				e = e*10 + int(s[k]-'0')
			}
			if k > j && e <= maxExactDigits+1 && n+e >= 16 {
				return true
			}
			n = 0
		default:
			n = 0
		}
	}
	return false
}

// jsonBodyIntegers returns a violation for a JSON request body
// (jsonBodyMembers found an integer of 16 digits or more in it) that
// breaks a numeric keyword of its schema exactly (jsonIntegers).
func jsonBodyIntegers(in *openapi3filter.RequestValidationInput, ex exactNumbers) error {
	op := in.Route.Operation
	r := in.Request
	m := op.RequestBody.Value.Content.Get(r.Header.Get("Content-Type"))
	if m == nil || m.Schema == nil {
		return nil
	}
	body, err := r.GetBody()
	if err != nil {
		return nil
	}
	defer body.Close()
	buf, err := io.ReadAll(body)
	if err != nil {
		return nil
	}
	if f := jsonIntegers(buf, m.Schema, ex); f != nil {
		return &openapi3filter.RequestError{Input: in, RequestBody: op.RequestBody.Value, Reason: f.reason()}
	}
	return nil
}

// sameNumber reports whether e, a value of the description (an enum
// member, a const), is the number v exactly.
func sameNumber(e any, v *big.Rat) bool {
	var r *big.Rat
	switch e := e.(type) {
	case float64:
		// The decimal the description writes (divisor).
		if r = divisor(e); r == nil {
			return false
		}
	case int:
		r = new(big.Rat).SetInt64(int64(e))
	case int64:
		r = new(big.Rat).SetInt64(e)
	case uint64:
		r = new(big.Rat).SetUint64(e)
	case json.Number:
		var ok bool
		if r, ok = new(big.Rat).SetString(string(e)); !ok {
			return false
		}
	default:
		return false
	}
	return r.Cmp(v) == 0
}

// formIntegers returns where a form body's fields (vs; props the
// declarations of each field, composed) break a numeric keyword of schema
// exactly, for the fields holding an integer of 16 digits or more in any
// form (longNumber) whose every
// declaration is of type integer or number, or an array of them:
// openapi3filter reads such a field as an int64 or a float64 and compares
// it as a float64.
func formIntegers(vs url.Values, props map[string][]*openapi3.SchemaRef, schema *openapi3.SchemaRef, ex exactNumbers) *intFailure {
	numeric := func(r *openapi3.SchemaRef) bool {
		return r != nil && r.Value != nil && (r.Value.Type.Is(openapi3.TypeInteger) || r.Value.Type.Is(openapi3.TypeNumber))
	}
	var obj map[string]any
	for k, values := range vs {
		ps := props[k]
		if len(ps) == 0 || !slices.ContainsFunc(values, hasLongDigits) {
			continue
		}
		array := !slices.ContainsFunc(ps, func(p *openapi3.SchemaRef) bool {
			return p == nil || p.Value == nil || !p.Value.Type.Is(openapi3.TypeArray)
		})
		if slices.ContainsFunc(ps, func(p *openapi3.SchemaRef) bool {
			if array {
				return !numeric(p.Value.Items)
			}
			return !numeric(p)
		}) {
			continue
		}
		var v any
		if array {
			// An item not checked here is nil, which no keyword refuses.
			// Split on "," too: a form array with explode false.
			var items []any
			for _, s := range values {
				for item := range strings.SplitSeq(s, ",") {
					var v any
					if longNumberText(item) {
						v = json.Number(item)
					}
					items = append(items, v)
				}
			}
			v = items
		} else if longNumberText(values[0]) {
			v = json.Number(values[0])
		} else {
			continue
		}
		if obj == nil {
			obj = make(map[string]any)
		}
		obj[k] = v
	}
	if obj == nil {
		return nil
	}
	w := intWalk{exact: ex, patterns: make(map[string]*regexp.Regexp)}
	return w.check(schema, obj, nil, 0)
}
