package signer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestVerifyBodyErrorNotForgottenBySecondLabel: a captured signature over
// the Content-Digest of an empty body, presented twice under two labels
// (the label is not signed) with a body larger than MaxBodySize attached.
// The first label fails with ErrBodyTooLarge; the second must fail the same
// way, not check the digest against an empty buffer and accept the
// unverified body.
func TestVerifyBodyErrorNotForgottenBySecondLabel(t *testing.T) {
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k), Components: []Component{Method, Authority, Path, Query, Field("content-digest")}})
	empty, err := ContentDigest(strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "https://api.example.com/pay", nil)
	req.Header.Set("Content-Digest", empty)
	if err := s.Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	in, sig := req.Header.Get("Signature-Input"), req.Header.Get("Signature")
	req.Header.Set("Signature-Input", in+", "+strings.Replace(in, "sig1=", "sig2=", 1))
	req.Header.Set("Signature", sig+", "+strings.Replace(sig, "sig1=", "sig2=", 1))

	for _, chunked := range []bool{false, true} {
		t.Run("chunked="+strconv.FormatBool(chunked), func(t *testing.T) {
			v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), MaxBodySize: 8})
			r := req.Clone(context.Background())
			evil := `{"amount":1000000}`
			r.Body = io.NopCloser(strings.NewReader(evil))
			r.ContentLength = int64(len(evil))
			if chunked {
				r.ContentLength = -1
			}
			res, err := v.Verify(r, t0)
			if !errors.Is(err, ErrBodyTooLarge) {
				t.Fatalf("Verify = %+v, %v; want ErrBodyTooLarge", res, err)
			}
		})
	}
}

type failingBody struct{ n int }

func (b *failingBody) Read(p []byte) (int, error) {
	if b.n > 0 {
		b.n--
		p[0] = 'x'
		return 1, nil
	}
	return 0, errors.New("connection reset")
}
func (*failingBody) Close() error { return nil }

// TestVerifyBodyReadErrorNotForgottenBySecondLabel: the same with a body
// whose read fails: no later label may be checked against an empty buffer.
func TestVerifyBodyReadErrorNotForgottenBySecondLabel(t *testing.T) {
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k), Components: []Component{Method, Authority, Path, Query, Field("content-digest")}})
	empty, _ := ContentDigest(bytes.NewReader(nil))
	req := httptest.NewRequest("POST", "https://api.example.com/pay", nil)
	req.Header.Set("Content-Digest", empty)
	if err := s.Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	in, sig := req.Header.Get("Signature-Input"), req.Header.Get("Signature")
	req.Header.Set("Signature-Input", in+", "+strings.Replace(in, "sig1=", "sig2=", 1))
	req.Header.Set("Signature", sig+", "+strings.Replace(sig, "sig1=", "sig2=", 1))
	req.Body = &failingBody{n: 3}
	req.ContentLength = -1
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k)})
	if res, err := v.Verify(req, t0); err == nil {
		t.Fatalf("Verify accepted %+v after the body read failed", res)
	}
}
