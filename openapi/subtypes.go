package openapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// subtypes maps a schema with a discriminator and neither oneOf nor
// anyOf (a base, in OpenAPI's allOf polymorphism) to the schemas its
// discriminator values select: its mapping's entries, and each component
// schema naming the base in its allOf by its component name (the
// implicit mapping: "Dog" for "#/components/schemas/Dog" of allOf
// [{$ref: '#/components/schemas/Pet'}, ...]). openapi3filter reads a
// discriminator only with oneOf or anyOf: a payload validated against
// the base ({"petType":"Dog","bark":"woofwoof"} for Pet) was held to
// Pet's keywords only, and reached an upstream whose generated models
// (Jackson's @JsonSubTypes, openapi-generator) deserialize it as a Dog,
// Dog's own constraints unchecked. The map is built at New from the
// description (Spec or Doc, which it does not modify).
//
// For a description given as Config.Doc, which the layer does not modify
// (implicitMappings gives Spec's a mapping openapi3filter reads), it maps
// a discriminator of oneOf or anyOf whose mapping leaves a branch
// implicit too: each branch "#/components/schemas/Name" no entry names
// by Name, beside the entries, closed (a value naming no branch is a
// violation), as implicitMappings would.
//
// reach holds every schema from which the walk (subtypeWalk) reaches a
// base: a body whose schema reaches none is not read again.
type subtypes struct {
	sets  map[*openapi3.Schema]subtypeSet
	reach map[*openapi3.Schema]bool
}

// subtypeSet is the schemas a base's discriminator values select, and
// whether a value naming none is a violation.
type subtypeSet struct {
	by     map[string]*openapi3.Schema
	closed bool
}

// subtypesOf returns the subtypes of doc's component schemas; given:
// doc is Config.Doc, whose discriminators of oneOf and anyOf have no
// implicit mapping (implicitMappings).
func subtypesOf(doc *openapi3.T, given bool) *subtypes {
	sets := subtypeSets(doc, given)
	if len(sets) == 0 {
		return nil
	}
	return &subtypes{sets: sets, reach: reaching(doc, sets)}
}

// subtypeSets returns the subtypes' sets (subtypes) of doc.
func subtypeSets(doc *openapi3.T, given bool) map[*openapi3.Schema]subtypeSet {
	if doc.Components == nil || len(doc.Components.Schemas) == 0 {
		return nil
	}
	const prefix = "#/components/schemas/"
	schemas := doc.Components.Schemas
	component := func(ref string) *openapi3.Schema {
		name, ok := strings.CutPrefix(ref, prefix)
		if !ok && strings.Contains(ref, "/") {
			return nil
		}
		if s := schemas[name]; s != nil {
			return s.Value
		}
		return nil
	}
	var out map[*openapi3.Schema]subtypeSet
	for baseName, baseRef := range schemas {
		base := baseRef.Value
		if base == nil || base.Discriminator == nil || base.Discriminator.PropertyName == "" || len(base.OneOf) > 0 || len(base.AnyOf) > 0 {
			continue
		}
		m := make(map[string]*openapi3.Schema)
		mapped := make(map[*openapi3.Schema]bool)
		for value, to := range base.Discriminator.Mapping {
			if s := component(to.Ref); s != nil {
				m[value] = s
				mapped[s] = true
			}
		}
		for name, ref := range schemas {
			s := ref.Value
			if s == nil || s == base || mapped[s] {
				continue
			}
			if _, taken := m[name]; taken {
				continue
			}
			for _, a := range s.AllOf {
				if a != nil && (a.Value == base || a.Ref == prefix+baseName) {
					m[name] = s
					break
				}
			}
		}
		if len(m) > 0 {
			if out == nil {
				out = make(map[*openapi3.Schema]subtypeSet)
			}
			out[base] = subtypeSet{by: m}
		}
	}
	if given {
		_ = doc.WalkSchemas(func(_ string, sr *openapi3.SchemaRef) error {
			s := sr.Value
			if s == nil || s.Discriminator == nil || s.Discriminator.PropertyName == "" {
				return nil
			}
			// As implicitMappings would map it: each branch no mapping
			// entry names, by its component name, beside the entries.
			m := make(map[string]*openapi3.Schema)
			implicit := false
			eachImplicitBranch(s, func(name string, b *openapi3.SchemaRef) {
				if b.Value != nil {
					m[name] = b.Value
					implicit = true
				}
			})
			if !implicit {
				// Its mapping names every branch: openapi3filter reads it.
				return nil
			}
			for value, to := range s.Discriminator.Mapping {
				c := component(to.Ref)
				for _, branches := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf} {
					for _, b := range branches {
						if c == nil && b != nil && b.Ref == to.Ref {
							c = b.Value
						}
					}
				}
				if c == nil {
					// An entry the layer cannot resolve (another
					// document's): openapi3filter's reading stands.
					return nil
				}
				m[value] = c
			}
			if len(m) > 0 {
				if out == nil {
					out = make(map[*openapi3.Schema]subtypeSet)
				}
				out[s] = subtypeSet{by: m, closed: true}
			}
			return nil
		})
	}
	return out
}

// subtypeChildren are the schemas subtypeWalk goes on to from s.
func subtypeChildren(s *openapi3.Schema) []*openapi3.SchemaRef {
	out := make([]*openapi3.SchemaRef, 0, len(s.Properties)+len(s.AllOf)+len(s.AnyOf)+len(s.OneOf)+2)
	for _, p := range s.Properties {
		out = append(out, p)
	}
	out = append(out, s.Items, s.AdditionalProperties.Schema)
	out = append(out, s.AllOf...)
	out = append(out, s.AnyOf...)
	return append(out, s.OneOf...)
}

// reaching returns the schemas of doc from which subtypeWalk reaches a
// schema of sets (those included), among every schema the operations'
// bodies and the components lead to.
func reaching(doc *openapi3.T, sets map[*openapi3.Schema]subtypeSet) map[*openapi3.Schema]bool {
	var all []*openapi3.Schema
	seen := make(map[*openapi3.Schema]bool)
	var collect func(r *openapi3.SchemaRef)
	collect = func(r *openapi3.SchemaRef) {
		if r == nil || r.Value == nil || seen[r.Value] {
			return
		}
		seen[r.Value] = true
		all = append(all, r.Value)
		for _, c := range subtypeChildren(r.Value) {
			collect(c)
		}
	}
	if doc.Components != nil {
		for _, r := range doc.Components.Schemas {
			collect(r)
		}
	}
	content := func(c openapi3.Content) {
		for _, m := range c {
			if m != nil {
				collect(m.Schema)
			}
		}
	}
	var items map[string]*openapi3.PathItem
	if doc.Paths != nil {
		items = doc.Paths.Map()
	}
	for _, item := range items {
		for _, op := range item.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				content(op.RequestBody.Value.Content)
			}
			if op.Responses != nil {
				for _, r := range op.Responses.Map() {
					if r != nil && r.Value != nil {
						content(r.Value.Content)
					}
				}
			}
		}
	}
	// From the bases up the edges, once each: linear in the schemas.
	parents := make(map[*openapi3.Schema][]*openapi3.Schema)
	for _, s := range all {
		for _, c := range subtypeChildren(s) {
			if c != nil && c.Value != nil {
				parents[c.Value] = append(parents[c.Value], s)
			}
		}
	}
	reach := make(map[*openapi3.Schema]bool)
	var queue []*openapi3.Schema
	for s := range sets {
		reach[s] = true
		queue = append(queue, s)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, p := range parents[s] {
			if !reach[p] {
				reach[p] = true
				queue = append(queue, p)
			}
		}
	}
	return reach
}

// subtypeWalk holds a JSON value to the subtypes its discriminators
// select (subtypes), wherever the schema it is validated against reaches
// a base: through properties, additionalProperties, items, allOf, and
// the anyOf and oneOf branches the value passes.
type subtypeWalk struct {
	subs  *subtypes
	ex    exactNumbers // the description's integers no float64 holds
	opts  []openapi3.SchemaValidationOption
	seen  map[walkKey]bool
	steps int
}

// maxSubtypeSteps bounds a walk's schema visits (a schema may refer to
// itself, and every anyOf and oneOf branch is tried).
const maxSubtypeSteps = 100000

// failure is where the walk found a subtype's constraint broken.
type subtypeFailure struct {
	at   []string
	name string // the discriminator's value, the subtype's name in the description
	err  error
	why  string // scanJSON's reason, for a member name in another case
}

func (f *subtypeFailure) reason() string {
	r := "discriminator value " + strconv.Quote(f.name) + " selects a schema the value does not match"
	switch {
	case f.why != "":
		r = "discriminator value " + strconv.Quote(f.name) + " selects a schema: " + f.why
	case f.err == nil:
		r = "discriminator value names no schema"
	}
	if len(f.at) > 0 {
		r = "at /" + strings.Join(f.at, "/") + ": " + r
	}
	return r
}

func (w *subtypeWalk) check(ref *openapi3.SchemaRef, v any, at []string, depth int) *subtypeFailure {
	if ref == nil || ref.Value == nil || !w.subs.reach[ref.Value] || depth > maxIntDepth || w.steps > maxSubtypeSteps {
		return nil
	}
	w.steps++
	s := ref.Value
	key := walkKey{s, strings.Join(at, "/"), 0}
	if w.seen[key] {
		return nil
	}
	if w.seen == nil {
		w.seen = make(map[walkKey]bool)
	}
	w.seen[key] = true
	switch x := v.(type) {
	case map[string]any:
		if set, ok := w.subs.sets[s]; ok {
			if tag, ok := x[s.Discriminator.PropertyName].(string); ok {
				if set.by[tag] == nil && set.closed {
					return &subtypeFailure{at: at, name: tag}
				}
				if sub := set.by[tag]; sub != nil {
					// The object as JSON (its numbers as written: x is
					// decoded with UseNumber), for the checks the layer
					// makes of a body's own schema.
					b, merr := json.Marshal(x)
					if merr != nil {
						return nil
					}
					// openapi3filter compares numbers as float64s: the
					// exact answer stands where it refused only such
					// (exactoverride.go).
					if err := sub.VisitJSON(v, w.opts...); err != nil && !exactBody(err, jsonValue(b), w.ex, w.opts, w.subs) {
						return &subtypeFailure{at: at, name: tag, err: err}
					}
					// A member name that is, but for case, a property of
					// the subtype ({"BARK":...} for Dog's "bark"), which
					// scanJSON held to the base's only, and an integer
					// past 2^53 breaking a bound of the subtype's exactly,
					// which jsonIntegers held to the base's only.
					dec := json.NewDecoder(bytes.NewReader(b))
					dec.UseNumber()
					why, long := scanJSON(dec, &openapi3.SchemaRef{Value: sub})
					if why == "" && long {
						if f := jsonIntegers(b, &openapi3.SchemaRef{Value: sub}, w.ex); f != nil {
							why = f.reason()
						}
					}
					if why != "" {
						return &subtypeFailure{at: at, name: tag, why: why}
					}
					if f := w.check(&openapi3.SchemaRef{Value: sub}, v, at, depth+1); f != nil {
						return f
					}
				}
			}
		}
		for k, val := range x {
			p := s.Properties[k]
			if p == nil && s.AdditionalProperties.Schema != nil {
				p = s.AdditionalProperties.Schema
			}
			if p != nil {
				if f := w.check(p, val, append(at[:len(at):len(at)], escapePointer(k)), depth+1); f != nil {
					return f
				}
			}
		}
	case []any:
		if s.Items != nil {
			for i, val := range x {
				if f := w.check(s.Items, val, append(at[:len(at):len(at)], strconv.Itoa(i)), depth+1); f != nil {
					return f
				}
			}
		}
	}
	for _, b := range s.AllOf {
		if f := w.check(b, v, at, depth+1); f != nil {
			return f
		}
	}
	for _, bs := range []openapi3.SchemaRefs{s.AnyOf, s.OneOf} {
		for _, b := range bs {
			if b == nil || b.Value == nil || !w.subs.reach[b.Value] || b.Value.VisitJSON(v, w.opts...) != nil {
				continue
			}
			if f := w.check(b, v, at, depth+1); f != nil {
				return f
			}
		}
	}
	return nil
}

// subtypeOptions returns the schema validation options openapi3filter
// validates a request (or a response) body with, given opts.
func subtypeOptions(opts *openapi3filter.Options, request, v31 bool) []openapi3.SchemaValidationOption {
	if opts == nil {
		opts = &openapi3filter.Options{}
	}
	var out []openapi3.SchemaValidationOption
	if request {
		out = append(out, openapi3.VisitAsRequest())
		if opts.ExcludeReadOnlyValidations {
			out = append(out, openapi3.DisableReadOnlyValidation())
		}
	} else {
		out = append(out, openapi3.VisitAsResponse())
		if opts.ExcludeWriteOnlyValidations {
			out = append(out, openapi3.DisableWriteOnlyValidation())
		}
	}
	if opts.RegexCompiler != nil {
		out = append(out, openapi3.SetSchemaRegexCompiler(opts.RegexCompiler))
	}
	out = append(out, opts.SchemaValidationOptions...)
	if v31 {
		out = append(out, openapi3.EnableJSONSchema2020())
	}
	return out
}

// subtypeFailureOf returns where the JSON body buf, validated against
// root, breaks a subtype its discriminator selects (subtypes), nil when
// it does not or is no JSON.
func (subs *subtypes) failureOf(buf []byte, root *openapi3.SchemaRef, opts []openapi3.SchemaValidationOption, ex exactNumbers) *subtypeFailure {
	if !subs.reaches(root) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(buf))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	w := subtypeWalk{subs: subs, opts: opts, ex: ex}
	return w.check(root, v, nil, 0)
}

// reaches reports whether the walk from root reaches a base (nil subs:
// the description has none).
func (subs *subtypes) reaches(root *openapi3.SchemaRef) bool {
	return subs != nil && root != nil && root.Value != nil && subs.reach[root.Value]
}

// requestSubtypes returns a violation for a JSON request body of in that
// breaks a subtype its discriminator selects (subtypes).
func requestSubtypes(in *openapi3filter.RequestValidationInput, subs *subtypes, ex exactNumbers) error {
	op := in.Route.Operation
	r := in.Request
	if subs == nil || in.Options.ExcludeRequestBody || op == nil || op.RequestBody == nil || op.RequestBody.Value == nil || r.GetBody == nil || r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if mt := bodyMediaType(ct); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return nil
	}
	m := op.RequestBody.Value.Content.Get(ct)
	if m == nil || !subs.reaches(m.Schema) {
		return nil
	}
	body, err := r.GetBody()
	if err != nil {
		return nil
	}
	buf, err := io.ReadAll(body)
	body.Close()
	if err != nil {
		return nil
	}
	f := subs.failureOf(buf, m.Schema, subtypeOptions(in.Options, true, in.Route.Spec != nil && in.Route.Spec.IsOpenAPI31OrLater()), ex)
	if f == nil {
		return nil
	}
	return &openapi3filter.RequestError{Input: in, RequestBody: op.RequestBody.Value, Reason: f.reason(), Err: f.err}
}

// responseSubtypes is requestSubtypes for the JSON response body buf
// (decoded) of resp to the request of in.
func responseSubtypes(in *openapi3filter.RequestValidationInput, opts *openapi3filter.Options, resp *http.Response, buf []byte, subs *subtypes, ex exactNumbers) error {
	if subs == nil || opts.ExcludeResponseBody {
		return nil
	}
	m := jsonResponseMedia(in.Route.Operation, resp)
	if m == nil {
		return nil
	}
	f := subs.failureOf(buf, m.Schema, subtypeOptions(opts, false, in.Route.Spec != nil && in.Route.Spec.IsOpenAPI31OrLater()), ex)
	if f == nil {
		return nil
	}
	return &openapi3filter.ResponseError{Reason: "response body: " + f.reason(), Err: f.err}
}
