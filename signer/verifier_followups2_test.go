package signer

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestVerifyOtherSignatureBodyUnreadableFailsClosed: with
// AllowUnsignedBody, a request signed twice, the accepted signature not
// covering content-digest and the other one covering it, was accepted
// when the body could not be read: the other signature failed on the read
// and was taken for one that would not be accepted, so its nonce was not
// claimed, and a copy stripped down to it (with the whole body) was
// accepted once more. Verify must not accept a request whose other
// signatures it could not judge.
func TestVerifyOtherSignatureBodyUnreadableFailsClosed(t *testing.T) {
	ka, kb := testKey(t, "a"), testKey(t, "b")
	ks, err := NewKeySet(ka, kb)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", "https://api.example.com/orders", strings.NewReader(`{"item":42}`))
	if err != nil {
		t.Fatal(err)
	}
	sa := mustSigner(t, Options{Keys: StaticKey(ka), Label: "sig1", Components: DefaultRequired()})
	sb := mustSigner(t, Options{Keys: StaticKey(kb), Label: "sig2"})
	for _, s := range []*Signer{sa, sb} {
		if err := s.Sign(context.Background(), req, t0); err != nil {
			t.Fatal(err)
		}
	}
	if req.Header.Get("Content-Digest") == "" {
		t.Fatal("sig2 covers no content-digest")
	}
	v := newTestVerifier(t, VerifierOptions{Keys: ks, AllowUnsignedBody: true})
	r := serverView(t, req)
	r.Body = &truncatedBody{io.LimitReader(r.Body, 4)}
	res, err := v.Verify(r, t0)
	if err == nil {
		// Accepted: then the other signature's nonce must be claimed.
		if res2, err := v.Verify(serverView(t, onlyLabel(t, req, "sig2", "sig2")), t0.Add(time.Second)); !errors.Is(err, ErrReplay) {
			t.Fatalf("accepted %s with the other signature unjudged; a copy stripped down to it then gave %+v, %v; want ErrReplay", res.Label, res2, err)
		}
		return
	}
	if !errors.Is(err, ErrBodyUnreadable) {
		t.Fatalf("Verify = %+v, %v; want ErrBodyUnreadable", res, err)
	}
	// The signatures are good: the whole request is accepted.
	if _, err := v.Verify(serverView(t, req), t0); err != nil {
		t.Errorf("Verify(whole body) = %v", err)
	}
}

// TestVerifyOtherSignatureBodyTooLargeKeepsBody: with AllowUnsignedBody, a
// request signed twice, the accepted signature not covering content-digest
// and the other one covering it, with a chunked body over MaxBodySize: the
// other signature's check read MaxBodySize+1 bytes and failed, and the
// request was accepted with those bytes gone, so the handler read a body
// missing its beginning. The request must be refused (413), as it is when
// the signature covering the digest is the one chosen.
func TestVerifyOtherSignatureBodyTooLargeKeepsBody(t *testing.T) {
	ka, kb := testKey(t, "a"), testKey(t, "b")
	ks, err := NewKeySet(ka, kb)
	if err != nil {
		t.Fatal(err)
	}
	const body = `{"item":42,"note":"long enough"}`
	req, err := http.NewRequest("POST", "https://api.example.com/orders", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sa := mustSigner(t, Options{Keys: StaticKey(ka), Label: "sig1", Components: DefaultRequired()})
	sb := mustSigner(t, Options{Keys: StaticKey(kb), Label: "sig2"})
	for _, s := range []*Signer{sa, sb} {
		if err := s.Sign(context.Background(), req, t0); err != nil {
			t.Fatal(err)
		}
	}
	v := newTestVerifier(t, VerifierOptions{Keys: ks, AllowUnsignedBody: true, MaxBodySize: 8})
	r := serverView(t, req)
	r.ContentLength = -1 // chunked: the size is known only by reading
	res, err := v.Verify(r, t0)
	if err == nil {
		got, _ := io.ReadAll(r.Body)
		if string(got) != body {
			t.Fatalf("accepted %s; the handler then reads %q, want the whole body %q", res.Label, got, body)
		}
		return
	}
	if !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("Verify = %+v, %v; want ErrBodyTooLarge", res, err)
	}
}
