package signer

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestSignDropsEmptyContentDigestLine: a forwarding proxy copying the
// Content-Digest of the request it received
// (out.Header.Set("Content-Digest", in.Header.Get("Content-Digest")))
// sets an empty line when that request had none. An empty field has no
// member, but Sign took it for the caller's own digest and refused every
// such request ("content-digest: empty", ErrMalformed), and an empty line
// beside a digest made it unparsable (as it is for a receiver, which
// joins the lines as ", sha-256=..."). Sign now drops empty (or blank)
// lines of a covered Content-Digest first: it adds the digest of a body
// as for a request without the field, checks a digest left beside the
// blank line, and sends no field for a request without a body.
func TestSignDropsEmptyContentDigestLine(t *testing.T) {
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k)})
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Nonces: acceptAll{}})
	want, _ := ContentDigest(strings.NewReader("payload"))
	for _, lines := range [][]string{{""}, {" \t"}, {"", want}} {
		req, _ := http.NewRequest("POST", "https://api.example.com/up", strings.NewReader("payload"))
		req.Header["Content-Digest"] = lines
		if err := s.Sign(context.Background(), req, t0); err != nil {
			t.Errorf("lines %q: Sign = %v", lines, err)
			continue
		}
		if got := req.Header["Content-Digest"]; len(got) != 1 || got[0] != want {
			t.Errorf("lines %q: Content-Digest %q; want [%q]", lines, got, want)
		}
		sv := serverView(t, req)
		if _, err := v.Verify(sv, t0); err != nil {
			t.Errorf("lines %q: Verify = %v", lines, err)
		}
	}
	req, _ := http.NewRequest("GET", "https://api.example.com/", nil)
	req.Header.Set("Content-Digest", "")
	if err := s.Sign(context.Background(), req, t0); err != nil {
		t.Errorf("GET with an empty Content-Digest: Sign = %v", err)
	}
	if _, ok := req.Header["Content-Digest"]; ok {
		t.Errorf("GET: Content-Digest %q still sent", req.Header["Content-Digest"])
	}
}
