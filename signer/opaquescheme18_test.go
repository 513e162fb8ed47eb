package signer

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// TestSignRefusesSchemeOtherThanOpaques: a hand-set URL.Opaque with a
// scheme of its own ("http://a.example/x" on an https URL) is sent over
// HTTP/1.1 as that absolute-form target, whose scheme a server reads (RFC
// 9110 §7.1; the Verifier does), while Sign signed the URL's: @scheme and
// @target-uri never verified, nor @authority when the default port differs
// between the two schemes ("http://a.example:80/x"). HTTP/2 refuses to send
// such a request. Sign refuses @scheme and @target-uri as ErrMalformed, and
// @authority as ErrInvalidHost where the two schemes normalise the
// authority differently (found by FuzzSignVerifyWire's absolute-form seed);
// a scheme in another case ("HTTPS://"), and @authority where it agrees,
// are signed and verify.
func TestSignRefusesSchemeOtherThanOpaques(t *testing.T) {
	k := testKey(t, "k")
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Nonces: acceptAll{}, Required: []Component{}})
	for _, tc := range []struct {
		c            Component
		opaque, host string
		want         error // nil: signed, and verifies as read from the wire
	}{
		{Scheme, "http://a.example/x", "", ErrMalformed},
		{Scheme, "ftp://a.example/x", "", ErrMalformed},
		{TargetURI, "http://a.example/x", "", ErrMalformed},
		{TargetURI, "http://a.example:443/x", "a.example:443", ErrMalformed},
		{Authority, "http://a.example:80/x", "a.example:80", ErrInvalidHost},
		{Authority, "http://a.example:443/x", "a.example:443", ErrInvalidHost},
		{Scheme, "HTTPS://a.example/x", "", nil},
		{TargetURI, "HTTPS://a.example/x", "", nil},
		{Authority, "http://a.example/x", "", nil},
		{Authority, "http://a.example:443/x", "a.example", ErrInvalidHost},
		{Authority, "http://a.example:80/x", "a.example", nil},
		{Scheme, "//a.example/x", "", nil},
	} {
		s := mustSigner(t, Options{Keys: StaticKey(k), Components: []Component{Method, tc.c}})
		req, err := http.NewRequest("GET", "https://a.example/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque, req.Host = tc.opaque, tc.host
		err = s.Sign(context.Background(), req, t0)
		if tc.want != nil {
			if !errors.Is(err, tc.want) || len(req.Header["Signature"]) != 0 {
				t.Errorf("%s, Opaque %q, Host %q: Sign = %v; want %v, nothing signed", tc.c.id, tc.opaque, tc.host, err, tc.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s, Opaque %q, Host %q: Sign = %v", tc.c.id, tc.opaque, tc.host, err)
			continue
		}
		wire, ok := toWire(req)
		if !ok {
			t.Fatalf("Opaque %q: not sendable", tc.opaque)
		}
		if _, err := v.Verify(wire(), t0); err != nil {
			t.Errorf("%s, Opaque %q, Host %q: Verify = %v", tc.c.id, tc.opaque, tc.host, err)
		}
	}
}
