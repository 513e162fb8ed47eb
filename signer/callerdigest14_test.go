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
