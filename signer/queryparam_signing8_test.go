package signer

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// RFC 9421 §2.2.8 (as published): "If a parameter name occurs multiple
// times in a request, the named query parameter MUST NOT be included." A
// signer must not emit one line per occurrence (an earlier draft's rule,
// which RFC 9421 verifiers refuse), and IfPresent must not silently drop
// the parameter from the signature either: Sign fails, and so does the
// verifier's reconstruction of a base that covers such a parameter.
func TestQueryParamRepeatedNameRefused(t *testing.T) {
	// The same name, spelled differently on the wire, is still one name.
	for _, target := range []string{
		"https://example.com/?a=1&b=2&a=3",
		"https://example.com/?a=1&%61=3",
		"https://example.com/?a=1&a",
	} {
		r, _ := http.NewRequest("GET", target, nil)
		if got, err := lines(t, r, "https", nil, QueryParam("a")); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: base lines %q, err %v; want ErrMalformed", target, got, err)
		}
		for _, c := range []Component{QueryParam("a"), QueryParam("a").IfPresent()} {
			s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k")), Components: []Component{Method, c}})
			req, _ := http.NewRequest("GET", target, nil)
			if err := s.Sign(context.Background(), req, t0); !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: Sign(%s, optional=%v) = %v, Signature-Input %q; want ErrMalformed",
					target, c, c.Optional(), err, req.Header.Get("Signature-Input"))
			}
		}
	}
	// A name that occurs once among repeated others is fine.
	r, _ := http.NewRequest("GET", "https://example.com/?a=1&b=2&b=3", nil)
	if got, err := lines(t, r, "https", nil, QueryParam("a")); err != nil || got != "\"@query-param\";name=\"a\": 1\n" {
		t.Errorf("single a among repeated b: %q, %v", got, err)
	}
}
