package signer

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestVerifyClaimsOtherSignatureRefusedOnlyForTheBody: a POST signed
// twice with accepted keys: sig1 covers content-digest, sig2 (a proxy's)
// does not. The request is accepted under sig1; sig2 is refused only
// because the request has a body it does not cover. A copy stripped down
// to sig2 and sent without the body verifies (no body to cover), so
// sig2's nonce must have been claimed: otherwise the captured request is
// replayed once more (its body dropped).
func TestVerifyClaimsOtherSignatureRefusedOnlyForTheBody(t *testing.T) {
	ka, kb := testKey(t, "a"), testKey(t, "b")
	ks, err := NewKeySet(ka, kb)
	if err != nil {
		t.Fatal(err)
	}
	v := newTestVerifier(t, VerifierOptions{Keys: ks})
	req, err := http.NewRequest("POST", "https://api.example.com/transfer?to=7", strings.NewReader(`{"amount":5}`))
	if err != nil {
		t.Fatal(err)
	}
	sa := mustSigner(t, Options{Keys: StaticKey(ka), Label: "sig1"})
	sb := mustSigner(t, Options{Keys: StaticKey(kb), Label: "sig2", Components: DefaultRequired()})
	if err := sa.Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	if err := sb.Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	if res, err := v.Verify(serverView(t, req), t0); err != nil || res.Label != "sig1" {
		t.Fatalf("Verify = %+v, %v; want sig1 accepted", res, err)
	}
	cp := onlyLabel(t, req, "sig2", "sig2")
	cp.Body, cp.GetBody, cp.ContentLength = nil, nil, 0
	cp.Header.Del("Content-Digest")
	if res, err := v.Verify(serverView(t, cp), t0); !errors.Is(err, ErrReplay) {
		t.Errorf("copy stripped down to sig2, body dropped: %+v, %v; want ErrReplay", res, err)
	}
}
