package openapi

import (
	"math/big"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v4"
)

// kin-openapi loads a description's numbers as float64s, so an integer it
// writes that no float64 holds (9007199254740993, 2^53+1) is the float64
// nearest it (9007199254740992): a minimum of 9007199254740993 let
// 9007199254740992 through, an enum [9007199254740993] refused
// 9007199254740993 and let 9007199254740992 through. For a description
// given as Spec, the integers it writes in minimum, maximum,
// exclusiveMinimum, exclusiveMaximum, multipleOf, const and enum that
// are no float64 are read again from its text (exactNumbersOf), whether
// written as digits, with a zero fraction (9007199254740993.0) or with an
// exponent (9.007199254740993e15), and the checks of integers.go use
// them.

// exactSchema holds the integers a schema writes that no float64 holds;
// nil where the float64 is the number written (or the keyword is absent).
type exactSchema struct {
	min, max, exclusiveMin, exclusiveMax, multipleOf, constant *big.Rat
	enum                                                       []*big.Rat // by index of Schema.Enum
}

// exactNumbers maps a schema of the loaded description to its exact
// integers; nil (no such integer, or a description given as Doc) is
// empty.
type exactNumbers map[*openapi3.Schema]*exactSchema

// exactInt returns the number s writes when a float64 does not hold it
// exactly, else nil: an integer written as decimal digits with an
// optional sign (longInt), with a zero fraction or an exponent
// ("9007199254740993.0", "9.007199254740993e15"; longNumber), or a
// number with a fraction of its own and 16 significant digits or more
// ("9007199254740992.5"; longFraction) that is not the decimal its
// float64 reads as (divisor).
func exactInt(s string) *big.Rat {
	if r := longFraction(s); r != nil {
		f, err := strconv.ParseFloat(s, 64)
		if d := divisor(f); err == nil && d != nil && d.Cmp(r) == 0 {
			return nil
		}
		return r
	}
	s, _ = longNumber(s)
	if s == "" || len(s) > maxExactDigits+1 {
		return nil
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err == nil && new(big.Rat).SetFloat64(f).Cmp(r) == 0 {
		return nil
	}
	return r
}

// longNumberText reports whether s writes an integer of 16 digits or more
// in any form, or a number with a fraction of its own and 16 significant
// digits or more (longNumber), which a float64 may not hold.
func longNumberText(s string) bool {
	text, fractional := longNumber(s)
	return text != "" || fractional
}

// exactNumbersOf returns the exact integers of doc, loaded from spec with
// origins (openapi3.Loader.IncludeOrigin): the position of a schema's
// keyword is the position of its key in spec, whose value is read from
// spec's own YAML node tree (a JSON description is YAML too). An enum's
// items are the texts the origins keep. A description kin-openapi read
// without origins (as JSON, for one with a key twice) has none, and keeps
// kin-openapi's float64s.
func exactNumbersOf(doc *openapi3.T, spec []byte) exactNumbers {
	var root yaml.Node
	if yaml.Unmarshal(spec, &root) != nil {
		return nil
	}
	// The text of each scalar value that writes an integer of 16 digits
	// or more (longNumber), by the line and column of its key.
	values := make(map[[2]int]string)
	var index func(n *yaml.Node, depth int)
	index = func(n *yaml.Node, depth int) {
		if depth > 512 {
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if v.Kind == yaml.ScalarNode && longNumberText(v.Value) {
					values[[2]int{k.Line, k.Column}] = v.Value
				}
			}
		}
		for _, c := range n.Content {
			index(c, depth+1)
		}
	}
	index(&root, 0)
	if len(values) == 0 {
		return nil
	}
	ex := make(exactNumbers)
	_ = doc.WalkSchemas(func(_ string, sr *openapi3.SchemaRef) error {
		s := sr.Value
		if s == nil || s.Origin == nil {
			return nil
		}
		var e exactSchema
		found := false
		field := func(name string) *big.Rat {
			loc, ok := s.Origin.Fields.Lookup(name)
			if !ok {
				return nil
			}
			text, ok := values[[2]int{loc.Line, loc.Column}]
			if !ok {
				return nil
			}
			r := exactInt(text)
			found = found || r != nil
			return r
		}
		e.min, e.max = field("minimum"), field("maximum")
		e.exclusiveMin, e.exclusiveMax = field("exclusiveMinimum"), field("exclusiveMaximum")
		e.multipleOf, e.constant = field("multipleOf"), field("const")
		if items := s.Origin.Sequences["enum"]; len(s.Enum) > 0 && len(items) == len(s.Enum) {
			for i, item := range items {
				if _, ok := s.Enum[i].(float64); !ok {
					continue
				}
				if r := exactInt(item.Name); r != nil {
					if e.enum == nil {
						e.enum = make([]*big.Rat, len(s.Enum))
					}
					e.enum[i] = r
					found = true
				}
			}
		}
		if found {
			ex[s] = &e
		}
		return nil
	})
	if len(ex) == 0 {
		return nil
	}
	return ex
}
