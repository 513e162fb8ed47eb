package openapi

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestIntWalkAnyOfNotExponential: the exact integer walk tried every
// branch of an anyOf (or oneOf) again for each way it reached a value: a
// tree schema whose node is anyOf two object branches, both reaching the
// child, checked the child at depth d 2^d times when an integer at the
// bottom failed both (a response of 130 bytes, {"c":{"c":...{"n":
// 9007199254740993}}} 20 deep, took 30 s of CPU; 64 deep, forever), where
// openapi3filter, which stops at the first branch that passes,
// had passed it rounded. A schema's verdict on a value is worked out once
// a walk. Checked by the number of checks, not by time.
func TestIntWalkAnyOfNotExponential(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData([]byte(`openapi: 3.0.3
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    Node:
      anyOf:
        - {type: object, properties: {c: {$ref: "#/components/schemas/Node"}, n: {type: integer, maximum: 9007199254740992}}}
        - {type: object, properties: {c: {$ref: "#/components/schemas/Node"}, n: {type: integer, maximum: 9007199254740992}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	root := doc.Components.Schemas["Node"]
	for _, tc := range []struct {
		n    string
		fail bool
	}{{"9007199254740993", true}, {"9007199254740992", false}} {
		const depth = 16
		body := strings.Repeat(`{"c":`, depth) + `{"n":` + tc.n + `}` + strings.Repeat(`}`, depth)
		dec := json.NewDecoder(bytes.NewReader([]byte(body)))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		w := intWalk{patterns: make(map[string]*regexp.Regexp)}
		f := w.check(root, v, nil, 0)
		if (f != nil) != tc.fail {
			t.Errorf("n=%s: failure %v, want one %v", tc.n, f, tc.fail)
		}
		if f != nil && f.keyword != "anyOf" {
			t.Errorf("n=%s: keyword %q, want anyOf", tc.n, f.keyword)
		}
		if w.checks > 100*depth {
			t.Errorf("n=%s: %d checks for a value %d deep, want at most %d", tc.n, w.checks, depth, 100*depth)
		}
	}
}
