package signer

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestVerifyOtherSignatureFailingOnThisCopyIsClaimed: a request signed
// twice with keys the verifier accepts (a client's signature and a
// proxy's, covering different components) was accepted twice. A copy
// altered in what only the client's signature covers (a header changed
// or removed, the body under AllowUnsignedBody) was accepted under the
// proxy's signature, the client's failing its MAC, digest or a missing
// component and so not claimed; then the message as sent, stripped down
// to the client's signature, was accepted as well. A signature under an
// accepted key that passes every check of the policy has its nonce
// claimed with the accepted one's, whether or not it verifies on this
// copy; a request whose signatures all fail claims nothing, and nor does
// another signature under an unknown key or refused by the policy.
func TestVerifyOtherSignatureFailingOnThisCopyIsClaimed(t *testing.T) {
	ck, pk := testKey(t, "client"), testKey(t, "proxy")
	keys, err := NewKeySet(ck, pk)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(body string) *http.Request {
		var rb io.Reader
		if body != "" {
			rb = strings.NewReader(body)
		}
		req := httptest.NewRequest("POST", "https://api.example.com/pay?amount=5", rb)
		req.Header.Set("X-Order", "1")
		if body != "" {
			req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
		}
		cs := mustSigner(t, Options{Keys: StaticKey(ck), Label: "sig1",
			Components: []Component{Method, Authority, Path, Query, Field("x-order"), Field("content-digest")}})
		ps := mustSigner(t, Options{Keys: StaticKey(pk), Label: "sig2", Components: []Component{Method, Authority, Path, Query}})
		for _, s := range []*Signer{cs, ps} {
			if err := s.Sign(context.Background(), req, t0); err != nil {
				t.Fatal(err)
			}
		}
		if body != "" {
			req.Body, _ = req.GetBody()
		}
		return req
	}
	withBody := func(r *http.Request, body string) *http.Request {
		r.Body = io.NopCloser(strings.NewReader(body))
		r.ContentLength = int64(len(body))
		return r
	}
	for _, tc := range []struct {
		name  string
		alter func(*http.Request) *http.Request
	}{
		{"header changed", func(r *http.Request) *http.Request {
			r = withBody(r.Clone(context.Background()), `{"a":1}`)
			r.Header.Set("X-Order", "2")
			return r
		}},
		{"header removed", func(r *http.Request) *http.Request {
			r = withBody(r.Clone(context.Background()), `{"a":1}`)
			r.Header.Del("X-Order")
			return r
		}},
		{"body changed", func(r *http.Request) *http.Request {
			return withBody(r.Clone(context.Background()), `{"a":2}`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := NewMemoryNonceStore(0)
			v := newTestVerifier(t, VerifierOptions{Keys: keys, Nonces: store, AllowUnsignedBody: true})
			req := sign(`{"a":1}`)
			res, err := v.Verify(tc.alter(req), t0)
			if err != nil || res.Label != "sig2" {
				t.Fatalf("altered copy: %+v, %v; want accepted under sig2", res, err)
			}
			if n := store.Len(); n != 2 {
				t.Errorf("store holds %d nonces after the altered copy, want 2 (both signatures')", n)
			}
			genuine := withBody(onlyLabel(t, req, "sig1", "sig1"), `{"a":1}`)
			if res, err := v.Verify(genuine, t0); !errors.Is(err, ErrReplay) {
				t.Fatalf("the message as sent, stripped down to sig1: %+v, %v; want ErrReplay", res, err)
			}
		})
	}

	// No claim for a request whose every signature fails, nor for another
	// signature under an unknown key or one the policy refuses.
	store := NewMemoryNonceStore(0)
	v := newTestVerifier(t, VerifierOptions{Keys: keys, Nonces: store, AllowUnsignedBody: true, KeyIDs: []string{"proxy"}})
	for i := 0; i < 100; i++ {
		req := sign(`{"a":1}`)
		req.Header.Set("X-Order", "2")
		req.URL.RawQuery = "amount=6"
		if _, err := v.Verify(req, t0); !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("every signature failing: %v", err)
		}
	}
	if n := store.Len(); n != 0 {
		t.Fatalf("store holds %d nonces after requests whose every signature failed", n)
	}
	req := sign(`{"a":1}`)
	req.Header.Set("X-Order", "2")
	if _, err := v.Verify(req, t0); err != nil {
		t.Fatal(err)
	}
	if n := store.Len(); n != 1 {
		t.Errorf("store holds %d nonces, want 1: sig1's keyid is not in KeyIDs", n)
	}
	other := newTestVerifier(t, VerifierOptions{Keys: StaticKey(pk), Nonces: NewMemoryNonceStore(0), AllowUnsignedBody: true})
	req = sign(`{"a":1}`)
	req.Header.Set("X-Order", "2")
	if _, err := other.Verify(req, t0); err != nil {
		t.Fatal(err)
	}
	if n := other.nonces.(*MemoryNonceStore).Len(); n != 1 {
		t.Errorf("store holds %d nonces, want 1: sig1's key is unknown", n)
	}
}
