package signer

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSignCallersContentDigestChecked: a Content-Digest the caller set is
// checked against the body (a fresh GetBody copy) before it is signed. One
// that does not match the content is refused with ErrDigestMismatch and
// nothing is signed: signing it would attest a digest of other content,
// which the receiver refuses only after the request was sent (or, for an
// algorithm it does not check, not at all). One that matches is signed as
// it is.
func TestSignCallersContentDigestChecked(t *testing.T) {
	s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k"))})
	body := `{"amount":5}`
	other, err := ContentDigest(strings.NewReader(`{"amount":500}`))
	if err != nil {
		t.Fatal(err)
	}
	right512, err := ContentDigest(strings.NewReader(body), DigestSHA512)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, digest string
		want         error
	}{
		{"digest of other content", other, ErrDigestMismatch},
		{"right sha-512 beside a wrong sha-256", right512 + ", " + other, ErrDigestMismatch},
		{"only an algorithm nobody checks", "md5=:AAAAAAAAAAAAAAAAAAAAAA==:", ErrDigestMismatch},
		{"malformed", "sha-256=:AAAA", ErrMalformed},
		{"right sha-512", right512, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", "https://api.example.com/pay", strings.NewReader(body))
			req.Header.Set("Content-Digest", tc.digest)
			err := s.Sign(context.Background(), req, t0)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Sign: %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				if req.Header.Get("Signature") != "" {
					t.Error("the request was signed")
				}
				return
			}
			if got := req.Header.Get("Content-Digest"); got != tc.digest {
				t.Errorf("Content-Digest %q, want the caller's %q", got, tc.digest)
			}
			// The request as signed verifies.
			v, err := NewVerifier(VerifierOptions{Keys: StaticKey(testKey(t, "k"))})
			if err != nil {
				t.Fatal(err)
			}
			in := httptest.NewRequest("POST", "https://api.example.com/pay", bytes.NewReader([]byte(body)))
			in.Header = req.Header.Clone()
			if _, err := v.Verify(in, t0); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

// TestSignCallersContentDigestWithoutBody: a request without a body has
// empty content (RFC 9530), and that is what the Verifier checks its
// Content-Digest against; a caller's digest of anything else on a GET or
// a POST without a body is refused by Sign, not sent to be refused.
func TestSignCallersContentDigestWithoutBody(t *testing.T) {
	s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k"))})
	empty, err := ContentDigest(strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	hello := "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:" // RFC 9530 Appendix D
	for _, method := range []string{"GET", "POST"} {
		req, _ := http.NewRequest(method, "https://api.example.com/p", nil)
		req.Header.Set("Content-Digest", hello)
		if err := s.Sign(context.Background(), req, t0); !errors.Is(err, ErrDigestMismatch) {
			t.Errorf("%s with the digest of other content: %v, want ErrDigestMismatch", method, err)
		}
		req, _ = http.NewRequest(method, "https://api.example.com/p", http.NoBody)
		req.Header.Set("Content-Digest", empty)
		if err := s.Sign(context.Background(), req, t0); err != nil {
			t.Errorf("%s with the digest of empty content: %v", method, err)
		}
		v, err := NewVerifier(VerifierOptions{Keys: StaticKey(testKey(t, "k"))})
		if err != nil {
			t.Fatal(err)
		}
		in := httptest.NewRequest(method, "https://api.example.com/p", nil)
		in.Header = req.Header.Clone()
		if _, err := v.Verify(in, t0); err != nil {
			t.Errorf("%s: Verify: %v", method, err)
		}
	}
}
