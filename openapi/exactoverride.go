package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// openapi3filter compares a number with its bounds as float64s, so it
// also refuses a value the bound takes exactly: 9007199254740992 for an
// exclusiveMaximum of 9007199254740993 (both the float64
// 9007199254740992), 9007199254740991.5 for one of 9007199254740992 (the
// value rounds to the bound); and the JSON Schema 2020-12 validator of an
// OpenAPI 3.1 description, which compares the value exactly, compares it
// with kin-openapi's float64 of a bound no float64 holds
// (9007199254740992.5 refused by a maximum of 9007199254740992.5). Where
// every failure openapi3filter finds is such a keyword on a value of 16
// significant digits or more (longNumberText) that meets every numeric
// keyword of its schema exactly (numberFailure), the exact answer stands
// (exactRequest, exactResponse). This runs only on openapi3filter's
// error path, for a request or response body, a scalar query, header,
// path or cookie parameter, an array parameter's item (scalarParamText,
// validateArrayParam), and a response header of type integer or number
// or an array of them (responseHeaderText). A failure of allOf, anyOf,
// oneOf or not, which openapi3filter reports as that keyword's
// (compositionKeywords), is held to its branches and the rest of its
// schema exactly in a body (exactBody, exactCheck.composition), and
// stands elsewhere, as does one of an object parameter's property.

// floatKeywords are the keywords openapi3filter compares as float64s.
var floatKeywords = map[string]bool{
	"minimum": true, "maximum": true, "exclusiveMinimum": true, "exclusiveMaximum": true, "multipleOf": true,
}

// compositionKeywords are the keywords whose failure openapi3filter
// reports with its branches' failures in Origin, which is not looked
// through: once allOf fails, openapi3filter validates none of the
// schema's own keywords (its properties, additionalProperties, enum...),
// and a oneOf whose every branch failed may match several of them
// exactly. exactCheck.composition validates such a keyword's branches
// and the rest of its schema again instead.
var compositionKeywords = map[string]bool{"allOf": true, "oneOf": true, "anyOf": true, "not": true}

// schemaLeaves returns the innermost schema errors of err: those whose
// Origin holds no other. A failure of a composition keyword
// (compositionKeywords) is one itself: it stands.
func schemaLeaves(err error, depth int) []*openapi3.SchemaError {
	if depth > maxIntDepth {
		return nil
	}
	// The outermost MultiError or *SchemaError of err's chain: errors.As
	// would look past a composition keyword's failure into its branches'.
	for err != nil {
		switch e := err.(type) {
		case openapi3.MultiError:
			var out []*openapi3.SchemaError
			for _, x := range e {
				out = append(out, schemaLeaves(x, depth+1)...)
			}
			return out
		case *openapi3.SchemaError:
			if e.Origin != nil && !compositionKeywords[e.SchemaField] {
				var me openapi3.MultiError
				var sub *openapi3.SchemaError
				if errors.As(e.Origin, &me) || errors.As(e.Origin, &sub) {
					return schemaLeaves(e.Origin, depth+1)
				}
			}
			return []*openapi3.SchemaError{e}
		case interface{ Unwrap() []error }:
			var out []*openapi3.SchemaError
			for _, x := range e.Unwrap() {
				out = append(out, schemaLeaves(x, depth+1)...)
			}
			return out
		}
		err = errors.Unwrap(err)
	}
	return []*openapi3.SchemaError{nil} // not a schema error: stands
}

// exactOnly reports whether every failure of err (a schema error, or a
// MultiError of them) is a float keyword (floatKeywords) on a value of 16
// significant digits or more that meets every numeric keyword of its
// schema exactly. text returns the value's text at a JSON pointer. A
// failure of a composition keyword stands (exactBody takes one back).
func exactOnly(err error, text func(at []string) (string, bool), ex exactNumbers) bool {
	c := exactCheck{text: text, ex: ex}
	return c.only(err, nil, 0)
}

// exactBody is exactOnly for a request or response body, validated with
// the schema validation options opts: a failure of anyOf, oneOf, allOf
// or not may be taken back too (exactCheck.composition).
//
// With subs, a failure of a oneOf or anyOf of a discriminator subs maps
// (closed: Config.Doc's, to which openapi3filter gives no implicit
// mapping) is taken back too when the value passes the branch its
// discriminator value names and the rest of its schema
// (exactCheck.discriminated): openapi3filter held it to every branch
// (a valid payload matching two broke oneOf) or refused a branch's
// implicit value beside a partial mapping.
func exactBody(err error, value func(at []string) (any, bool), ex exactNumbers, opts []openapi3.SchemaValidationOption, subs *subtypes) bool {
	c := exactCheck{text: numberText(value), value: value, ex: ex, opts: append(opts[:len(opts):len(opts)], openapi3.MultiErrors()), subs: subs}
	return c.only(err, nil, 0)
}

// numberText returns a lookup of the number texts of value's (decoded
// with UseNumber) by JSON pointer.
func numberText(value func(at []string) (any, bool)) func(at []string) (string, bool) {
	return func(at []string) (string, bool) {
		v, _ := value(at)
		n, ok := v.(json.Number)
		return string(n), ok
	}
}

// exactCheck is the work of exactOnly and exactBody.
type exactCheck struct {
	text  func(at []string) (string, bool)
	value func(at []string) (any, bool) // exactBody's: the body's value at a JSON pointer
	subs  *subtypes                     // exactBody's: the closed discriminators (discriminated)
	ex    exactNumbers
	// opts validate a composition's branches and the rest of its schema
	// again (composition); nil: a composition's failure stands.
	opts []openapi3.SchemaValidationOption
	// alias maps a copy of a schema made by composition to the
	// description's own, whose exact numbers ex holds.
	alias map[*openapi3.Schema]*openapi3.Schema
	// visits counts composition's validations, up to maxExactVisits:
	// nested compositions would take each branch's at every level.
	visits int
}

// maxExactVisits bounds the validations exactCheck.composition runs for
// one failure; past it the failure stands.
const maxExactVisits = 256

// only reports whether every failure of err, of a value at the JSON
// pointer base, is one the value meets exactly.
func (c *exactCheck) only(err error, base []string, depth int) bool {
	if depth > maxIntDepth {
		return false
	}
	leaves := schemaLeaves(err, 0)
	if len(leaves) == 0 {
		return false
	}
	for _, se := range leaves {
		if se == nil || se.Schema == nil {
			return false
		}
		at := append(base[:len(base):len(base)], se.JSONPointer()...)
		if c.closed(se.Schema) {
			switch se.SchemaField {
			case "oneOf", "anyOf", "discriminator":
				if !c.discriminated(se.Schema, at, depth) {
					return false
				}
				continue
			}
		}
		if compositionKeywords[se.SchemaField] {
			if c.opts == nil || !c.composition(se, at, depth) {
				return false
			}
			continue
		}
		if !floatKeywords[se.SchemaField] {
			return false
		}
		t, ok := c.text(at)
		if !ok {
			return false
		}
		schema := se.Schema
		if o := c.alias[schema]; o != nil {
			schema = o
		}
		v := exactValue(t)
		if v == nil || !v.IsInt() && se.Schema.Type.Permits(openapi3.TypeInteger) && !se.Schema.Type.Permits(openapi3.TypeNumber) ||
			numberFailure(se.Schema, v, c.ex[schema]) != "" {
			return false
		}
	}
	return true
}

// closed reports whether s has a discriminator subs maps closed.
func (c *exactCheck) closed(s *openapi3.Schema) bool {
	if c.subs == nil || c.opts == nil || c.value == nil {
		return false
	}
	if o := c.alias[s]; o != nil {
		s = o
	}
	set, ok := c.subs.sets[s]
	return ok && set.closed
}

// discriminated reports whether the object at the JSON pointer at, which
// openapi3filter refused for the oneOf or anyOf (or the discriminator) of
// s, a schema with a closed discriminator (closed), passes the branch its
// discriminator value names and the rest of s, each failure judged as
// only does.
func (c *exactCheck) discriminated(s *openapi3.Schema, at []string, depth int) bool {
	orig := s
	if o := c.alias[s]; o != nil {
		orig = o
	}
	if len(s.OneOf) > 0 && len(s.AnyOf) > 0 {
		return false
	}
	v, _ := c.value(at)
	obj, ok := v.(map[string]any)
	if !ok {
		return false
	}
	tag, ok := obj[s.Discriminator.PropertyName].(string)
	if !ok {
		return false
	}
	b := c.subs.sets[orig].by[tag]
	if b == nil || c.visits+2 > maxExactVisits {
		return false
	}
	c.visits += 2
	if err := b.VisitJSON(v, c.opts...); err != nil && !c.only(err, at, depth+1) {
		return false
	}
	rest := *s
	rest.OneOf, rest.AnyOf, rest.Discriminator = nil, nil, nil
	if c.alias == nil {
		c.alias = make(map[*openapi3.Schema]*openapi3.Schema)
	}
	c.alias[&rest] = orig
	err := rest.VisitJSON(v, c.opts...)
	return err == nil || c.only(err, at, depth+1)
}

// composition reports whether the value of se, at the JSON pointer at,
// passes the composition keyword se failed exactly, and the rest of its
// schema too, which openapi3filter left unchecked once the keyword
// failed: anyOf when a branch fails only where the value meets it
// exactly, oneOf when exactly one branch does (and no discriminator
// picks a branch), allOf when every branch does, not when its branch,
// which a number passed as a float64, fails exactly (intWalk). A oneOf
// matching several branches as float64s stands.
func (c *exactCheck) composition(se *openapi3.SchemaError, at []string, depth int) bool {
	s := se.Schema
	v := se.Value
	passes := func(b *openapi3.SchemaRef) bool {
		if b == nil || b.Value == nil || c.visits >= maxExactVisits {
			return false
		}
		c.visits++
		err := b.Value.VisitJSON(v, c.opts...)
		return err == nil || c.only(err, at, depth+1)
	}
	rest := *s
	switch se.SchemaField {
	case "anyOf":
		if s.Discriminator != nil || !slices.ContainsFunc(s.AnyOf, passes) {
			return false
		}
		rest.AnyOf = nil
	case "oneOf":
		if s.Discriminator != nil || errors.Is(se.Origin, openapi3.ErrOneOfConflict) {
			return false
		}
		n := 0
		for _, b := range s.OneOf {
			if passes(b) {
				n++
			}
		}
		if n != 1 {
			return false
		}
		rest.OneOf = nil
	case "allOf":
		for _, b := range s.AllOf {
			if !passes(b) {
				return false
			}
		}
		rest.AllOf = nil
	case "not":
		t, ok := c.text(at)
		switch v.(type) {
		case float64, json.Number:
		default:
			ok = false
		}
		if !ok || s.Not == nil {
			return false
		}
		w := intWalk{exact: c.ex, patterns: make(map[string]*regexp.Regexp)}
		if w.check(s.Not, json.Number(t), nil, 0) == nil {
			return false
		}
		rest.Not = nil
	default:
		return false
	}
	if c.alias == nil {
		c.alias = make(map[*openapi3.Schema]*openapi3.Schema)
	}
	orig := s
	if o := c.alias[s]; o != nil {
		orig = o
	}
	c.alias[&rest] = orig
	if c.visits >= maxExactVisits {
		return false
	}
	c.visits++
	err := rest.VisitJSON(v, c.opts...)
	return err == nil || c.only(err, at, depth+1)
}

// exactValue returns the number t writes exactly when it has 16
// significant digits or more (longNumberText), else nil.
func exactValue(t string) *big.Rat {
	if r := longFraction(t); r != nil {
		return r
	}
	text, _ := longNumber(t)
	if text == "" || len(strings.TrimLeft(text, "+-0")) > maxExactDigits {
		return nil
	}
	r, ok := new(big.Rat).SetString(strings.TrimPrefix(text, "+"))
	if !ok {
		return nil
	}
	return r
}

// jsonValue returns a lookup of the values of the JSON value buf (none
// when it is not JSON), decoded with UseNumber, by JSON pointer tokens
// (unescaped).
func jsonValue(buf []byte) func(at []string) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(buf))
	dec.UseNumber()
	var root any
	if dec.Decode(&root) != nil {
		return func([]string) (any, bool) { return nil, false }
	}
	return func(at []string) (any, bool) {
		v := root
		for _, tok := range at {
			switch x := v.(type) {
			case map[string]any:
				var ok bool
				if v, ok = x[tok]; !ok {
					return nil, false
				}
			case []any:
				i, err := strconv.Atoi(tok)
				if err != nil || i < 0 || i >= len(x) {
					return nil, false
				}
				v = x[i]
			default:
				return nil, false
			}
		}
		return v, true
	}
}

// itemsText returns a lookup of items by their index (a JSON pointer of
// one token), for exactOnly.
func itemsText(items []string) func(at []string) (string, bool) {
	return func(at []string) (string, bool) {
		if len(at) != 1 {
			return "", false
		}
		i, err := strconv.Atoi(at[0])
		if err != nil || i < 0 || i >= len(items) {
			return "", false
		}
		return strings.TrimSpace(items[i]), true
	}
}

// numeric reports whether s is a schema of type integer or number.
func numeric(s *openapi3.SchemaRef) bool {
	return s != nil && s.Value != nil && (s.Value.Type.Is(openapi3.TypeInteger) || s.Value.Type.Is(openapi3.TypeNumber))
}

// scalarParamText returns the value of the scalar parameter p of type
// integer or number as the request of in sends it once, for exactOnly;
// for an array parameter of such items that openapi3filter validates (an
// exploded form query array, a header array), its items by index.
func scalarParamText(in *openapi3filter.RequestValidationInput, p *openapi3.Parameter) func(at []string) (string, bool) {
	none := func([]string) (string, bool) { return "", false }
	if p == nil || p.Content != nil || p.Schema == nil || p.Schema.Value == nil {
		return none
	}
	if p.Schema.Value.Type.Is(openapi3.TypeArray) && numeric(p.Schema.Value.Items) {
		sm, err := p.SerializationMethod()
		if err != nil {
			return none
		}
		switch {
		case p.In == openapi3.ParameterInQuery && sm.Style == "form" && sm.Explode:
			return itemsText(in.GetQueryParams()[p.Name])
		case p.In == openapi3.ParameterInHeader:
			return itemsText(strings.Split(strings.Join(headerValues(in.Request.Header, p.Name), ","), ","))
		}
		return none
	}
	if !numeric(p.Schema) {
		return none
	}
	var vs []string
	switch p.In {
	case openapi3.ParameterInQuery:
		vs = in.GetQueryParams()[p.Name]
	case openapi3.ParameterInHeader:
		vs = headerValues(in.Request.Header, p.Name)
	case openapi3.ParameterInPath:
		if v, ok := in.PathParams[p.Name]; ok {
			vs = []string{v}
		}
	case openapi3.ParameterInCookie:
		for _, c := range requestCookies(in.Request.Header, p.Name) {
			vs = append(vs, c.Value)
		}
	}
	if len(vs) != 1 {
		return none
	}
	v := strings.TrimSpace(vs[0])
	return func(at []string) (string, bool) { return v, len(at) == 0 }
}

// exactRequest returns err, openapi3filter's verdict on the request of in
// (validated with in.Options), without the failures exactOnly finds the
// value meets exactly: nil when there is no other. When in.Options asks
// for the first failure only, and that one is such, the request is
// validated again for all of them.
func exactRequest(ctx context.Context, in *openapi3filter.RequestValidationInput, err error, ex exactNumbers, subs *subtypes) error {
	var body func(at []string) (any, bool)
	bodyValue := func(at []string) (any, bool) {
		if body == nil {
			body = func([]string) (any, bool) { return nil, false }
			if in.Request.GetBody != nil {
				if rc, gerr := in.Request.GetBody(); gerr == nil {
					buf, rerr := io.ReadAll(rc)
					rc.Close()
					if rerr == nil {
						body = jsonValue(buf)
					}
				}
			}
		}
		return body(at)
	}
	exact := func(e error) bool {
		var re *openapi3filter.RequestError
		if !errors.As(e, &re) || re.Err == nil {
			return false
		}
		switch {
		case re.RequestBody != nil:
			return exactBody(re.Err, bodyValue, ex, subtypeOptions(in.Options, true, in.Route.Spec != nil && in.Route.Spec.IsOpenAPI31OrLater()), subs)
		case re.Parameter != nil:
			return exactOnly(re.Err, scalarParamText(in, re.Parameter), ex)
		}
		return false
	}
	multi := in.Options != nil && in.Options.MultiError
	if !multi {
		if !exact(err) {
			return err
		}
		// The first failure only: are there others?
		again := *in
		again.Options = withMultiError(in.Options)
		r := *in.Request
		if r.GetBody != nil {
			b, gerr := r.GetBody()
			if gerr != nil {
				return err
			}
			r.Body = b
		}
		again.Request = &r
		if err = openapi3filter.ValidateRequest(ctx, &again); err == nil {
			return nil
		}
	}
	return dropExact(err, multi, exact)
}

// exactResponse is exactRequest for openapi3filter's verdict err on the
// response of in, whose body lb is: a failure of the body (as validated,
// decoded) or of a scalar or array header of type integer or number
// (responseHeaderText) may be taken back.
func exactResponse(ctx context.Context, in *openapi3filter.ResponseValidationInput, lb *lazyBody, err error, ex exactNumbers, subs *subtypes) error {
	// openapi3filter returns at a header's failure, MultiError or not,
	// the other headers and the body unvalidated: once one is taken back,
	// the response is validated again without it.
	again := func(in *openapi3filter.ResponseValidationInput) (*openapi3filter.ResponseValidationInput, bool) {
		a := *in
		switch {
		case lb.buf != nil:
			a.Body = io.NopCloser(bytes.NewReader(lb.buf))
		case lb.r == nil:
			// A header failed first: the body is still unread.
			a.Body = lb
		default:
			return nil, false
		}
		return &a, true
	}
	for range maxIntDepth {
		var re *openapi3filter.ResponseError
		if !errors.As(err, &re) || re.Err == nil {
			return err
		}
		name, ok := headerOfReason(re.Reason)
		if !ok {
			break
		}
		if !exactOnly(re.Err, responseHeaderText(in, name), ex) {
			return err
		}
		a, ok := again(withoutHeader(in, name))
		if !ok {
			return err
		}
		in = a
		if err = validateResponse(ctx, in); err == nil {
			return nil
		}
	}
	var body func(at []string) (any, bool)
	exact := func(e error) bool {
		var re *openapi3filter.ResponseError
		if !errors.As(e, &re) || re.Err == nil {
			return false
		}
		if !strings.HasPrefix(re.Reason, "response body doesn't match schema") || lb.buf == nil {
			return false
		}
		if body == nil {
			body = jsonValue(lb.buf)
		}
		rvi := in.RequestValidationInput
		return exactBody(re.Err, body, ex, subtypeOptions(in.Options, false, rvi.Route.Spec != nil && rvi.Route.Spec.IsOpenAPI31OrLater()), subs)
	}
	multi := in.Options != nil && in.Options.MultiError
	if !multi {
		if !exact(err) {
			return err
		}
		a, ok := again(in)
		if !ok {
			return err
		}
		a.Options = withMultiError(in.Options)
		if err = validateResponse(ctx, a); err == nil {
			return nil
		}
	}
	return dropExact(err, multi, exact)
}

// withoutHeader returns a copy of in whose operation's response for in's
// status (by code or range, else "default") does not declare the header
// name, for exactResponse to validate the rest of the response.
func withoutHeader(in *openapi3filter.ResponseValidationInput, name string) *openapi3filter.ResponseValidationInput {
	op := in.RequestValidationInput.Route.Operation
	ref := op.Responses.Status(in.Status)
	if ref == nil {
		ref = op.Responses.Default()
	}
	if ref == nil || ref.Value == nil {
		return in
	}
	r := *ref.Value
	r.Headers = make(openapi3.Headers, len(ref.Value.Headers))
	for k, h := range ref.Value.Headers {
		if k != name {
			r.Headers[k] = h
		}
	}
	mod := &openapi3.ResponseRef{Value: &r}
	rs := openapi3.NewResponsesWithCapacity(op.Responses.Len())
	for k, v := range op.Responses.Map() {
		if v == ref {
			v = mod
		}
		rs.Set(k, v)
	}
	o := *op
	o.Responses = rs
	route := *in.RequestValidationInput.Route
	route.Operation = &o
	rvi := *in.RequestValidationInput
	rvi.Route = &route
	out := *in
	out.RequestValidationInput = &rvi
	return &out
}

// headerOfReason returns the header name an openapi3filter reason for a
// response header that does not match its schema names.
func headerOfReason(reason string) (string, bool) {
	rest, ok := strings.CutPrefix(reason, "response header ")
	if !ok {
		return "", false
	}
	q, ok := strings.CutSuffix(rest, " doesn't match schema")
	if !ok {
		return "", false
	}
	name, err := strconv.Unquote(q)
	return name, err == nil
}

// responseHeaderText returns the text of the response header name of in
// that the response listed for its status declares with a schema of type
// integer or number (the value, as it comes on its one field line:
// repeatedHeader refuses another) or an array of them (an item, by its
// index, the field lines joined as one list), for exactOnly.
func responseHeaderText(in *openapi3filter.ResponseValidationInput, name string) func(at []string) (string, bool) {
	none := func([]string) (string, bool) { return "", false }
	r := declaredResponse(in.RequestValidationInput.Route.Operation, in.Status)
	if r == nil {
		return none
	}
	h := r.Headers[name]
	if h == nil || h.Value == nil || h.Value.Content != nil || h.Value.Schema == nil || h.Value.Schema.Value == nil {
		return none
	}
	s := h.Value.Schema.Value
	array := s.Type.Is(openapi3.TypeArray)
	if array && s.Items != nil && s.Items.Value != nil {
		s = s.Items.Value
	}
	if !s.Type.Is(openapi3.TypeInteger) && !s.Type.Is(openapi3.TypeNumber) {
		return none
	}
	vs := headerValues(in.Header, name)
	if len(vs) == 0 {
		return none
	}
	if !array {
		if len(vs) != 1 {
			return none
		}
		v := strings.TrimSpace(vs[0])
		return func(at []string) (string, bool) { return v, len(at) == 0 }
	}
	return itemsText(strings.Split(strings.Join(vs, ","), ","))
}

// dropExact returns err, openapi3filter's verdict (one error, or a
// MultiError when multi), without the failures exact takes back: nil when
// none is left; without multi, the first failure that stands.
func dropExact(err error, multi bool, exact func(error) bool) error {
	all, ok := err.(openapi3.MultiError)
	if !ok {
		all = openapi3.MultiError{err}
	}
	var kept openapi3.MultiError
	for _, e := range all {
		if !exact(e) {
			if !multi {
				return e
			}
			kept = append(kept, e)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return kept
}

// withMultiError returns a copy of o (nil: the defaults) asking for every
// failure, not the first only.
func withMultiError(o *openapi3filter.Options) *openapi3filter.Options {
	opts := openapi3filter.Options{}
	if o != nil {
		opts = *o
	}
	opts.MultiError = true
	return &opts
}
