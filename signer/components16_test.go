package signer

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestComponentsTooLongRefused: the components' names had no limit, so a
// Signer covering a 70 KB field name, or 64 query parameters of 2 KB
// names, signed every request with a Signature-Input the Verifier refused
// as ErrMalformed. New refuses components whose Signature-Input member
// could be larger than MaxSignatureFieldSize, naming Options.Components.
func TestComponentsTooLongRefused(t *testing.T) {
	k := testKey(t, "k")
	many := []Component{Method}
	for i := range MaxComponents - 1 {
		many = append(many, QueryParam(strings.Repeat(string(rune('a'+i%26)), 1100)+string(rune('a'+i/26))).IfPresent())
	}
	field := strings.Repeat("x", 70_000)
	for name, comps := range map[string][]Component{
		"one field":         {Method, Field(field).IfPresent()},
		"many query params": many,
	} {
		s, err := New(Options{Keys: StaticKey(k), Components: comps})
		if err == nil {
			req, err := http.NewRequest("GET", "https://example.com/x?"+queryOf(comps), nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set(field, "1")
			if err := s.Sign(context.Background(), req, t0); err != nil {
				t.Fatal(err)
			}
			v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Required: []Component{Method}})
			_, verr := v.Verify(serverView(t, req), t0)
			t.Errorf("%s: New accepted; its signed request verifies as: %v", name, verr)
			continue
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != "Options.Components" || !strings.Contains(err.Error(), "MaxSignatureFieldSize") {
			t.Errorf("%s: New = %v, want a *ConfigError naming Options.Components and MaxSignatureFieldSize", name, err)
		}
	}
}

// queryOf is a query setting every query parameter among comps.
func queryOf(comps []Component) string {
	var b strings.Builder
	for _, c := range comps {
		if c.kind == kindQueryParam {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(c.qname + "=1")
		}
	}
	return b.String()
}
