package signer

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestVerifyRefusesRepeatedDigestMember: a Content-Digest repeating the
// key of an algorithm the Verifier checks (a second "sha-256" line, or two
// in one line) is refused as ErrMalformed, by Verify and by the Middleware
// before the handler runs (401). A Dictionary keeps the last value (RFC
// 8941), and only that one was checked against the body, while a handler
// reading r.Header.Get("Content-Digest") saw the first line: with the
// signature covering "content-digest";sf or ;key="sha-256" (the last
// value, as signed) an intermediary could put in front a digest of other
// content that nothing checked.
func TestVerifyRefusesRepeatedDigestMember(t *testing.T) {
	body := `{"amount":5}`
	forged, err := ContentDigest(strings.NewReader(`{"amount":500}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, cd := range []Component{FieldSF("content-digest"), FieldKey("content-digest", "sha-256")} {
		s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k")), Components: []Component{Method, Authority, Path, Query, cd}})
		req, _ := http.NewRequest("POST", "https://api.example.com/pay", strings.NewReader(body))
		if err := s.Sign(context.Background(), req, t0); err != nil {
			t.Fatal(err)
		}
		signed := req.Header.Get("Content-Digest")
		for name, lines := range map[string][]string{
			"two lines": {forged, signed},
			"one line":  {forged + ", " + signed},
		} {
			t.Run(cd.String()+" "+name, func(t *testing.T) {
				v, err := NewVerifier(VerifierOptions{Keys: StaticKey(testKey(t, "k"))})
				if err != nil {
					t.Fatal(err)
				}
				newReq := func() *http.Request {
					r := httptest.NewRequest("POST", "https://api.example.com/pay", strings.NewReader(body))
					r.Header = req.Header.Clone()
					r.Header["Content-Digest"] = lines
					return r
				}
				if _, err := v.Verify(newReq(), t0); !errors.Is(err, ErrMalformed) {
					t.Errorf("Verify: %v, want ErrMalformed", err)
				}
				ran := false
				mw := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran = true }))
				rec := httptest.NewRecorder()
				mw.ServeHTTP(rec, newReq())
				if ran || rec.Code != http.StatusUnauthorized {
					t.Errorf("Middleware: handler ran %v, status %d, want not run, 401", ran, rec.Code)
				}
			})
		}
	}
}

// TestParseContentDigestRepeatedMember: ParseContentDigest (and so
// VerifyContentDigest, and Sign checking a caller's digest) refuses a
// repeated sha-256 or sha-512 key with ErrMalformed, even when both values
// are the same; a repeated key of an algorithm nobody checks is kept as
// RFC 8941 parses it (the last value), and text inside a String parameter
// is not a member.
func TestParseContentDigestRepeatedMember(t *testing.T) {
	d256, err := ContentDigest(strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	d512, err := ContentDigest(strings.NewReader("x"), DigestSHA512)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range [][]string{
		{d256, d256},
		{d256 + ", " + d256},
		{d512 + ", md5=:AAAAAAAAAAAAAAAAAAAAAA==:", "sha-512=" + strings.TrimPrefix(d512, "sha-512=") + ";p=1"},
		{d256 + ";p=\"a, b\"", d512, d256},
	} {
		if _, err := ParseContentDigest(v...); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseContentDigest(%q): %v, want ErrMalformed", v, err)
		}
		if err := VerifyContentDigest(strings.NewReader("x"), v...); !errors.Is(err, ErrMalformed) {
			t.Errorf("VerifyContentDigest(%q): %v, want ErrMalformed", v, err)
		}
	}
	for _, v := range [][]string{
		{"md5=:AAAAAAAAAAAAAAAAAAAAAA==:, " + d256, "md5=:AAAAAAAAAAAAAAAAAAAAAA==:"},
		{d256 + `;p="x, sha-256=:a:, (\"sha-256"`, d512},
	} {
		if err := VerifyContentDigest(strings.NewReader("x"), v...); err != nil {
			t.Errorf("VerifyContentDigest(%q): %v", v, err)
		}
	}
}
