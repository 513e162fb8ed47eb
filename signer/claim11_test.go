package signer

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// TestVerifyClaimsFutureOtherSignature: a request signed twice (two keys
// the verifier accepts), the second signature's created beyond ClockSkew
// in the future (its signer's clock runs fast), each with its own nonce.
// The request was accepted under the first signature, and the second,
// refused as ErrFuture, was not claimed: a captured copy stripped down to
// it was accepted once the verifier's clock reached its window, a replay.
// Its nonce must be claimed until the end of its own window.
func TestVerifyClaimsFutureOtherSignature(t *testing.T) {
	ka, kb := testKey(t, "a"), testKey(t, "b")
	ks, err := NewKeySet(ka, kb)
	if err != nil {
		t.Fatal(err)
	}
	store := NewMemoryNonceStore(0)
	v := newTestVerifier(t, VerifierOptions{Keys: ks, Nonces: store})
	later := t0.Add(2 * DefaultClockSkew)
	req, err := http.NewRequest("GET", "https://api.example.com/orders?id=7", nil)
	if err != nil {
		t.Fatal(err)
	}
	sa := mustSigner(t, Options{Keys: StaticKey(ka), Label: "sig1"})
	sb := mustSigner(t, Options{Keys: StaticKey(kb), Label: "sig2"})
	if err := sa.Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	if err := sb.Sign(context.Background(), req, later); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(serverView(t, onlyLabel(t, req, "sig2", "sig2")), t0); !errors.Is(err, ErrFuture) {
		t.Fatalf("sig2 alone at t0: %v, want ErrFuture", err)
	}
	res, err := v.Verify(serverView(t, req), t0)
	if err != nil || res.Label != "sig1" {
		t.Fatalf("Verify = %+v, %v; want sig1 accepted", res, err)
	}
	if n := store.Len(); n != 2 {
		t.Errorf("store holds %d nonces after the request, want 2 (both signatures)", n)
	}
	// Within sig2's window, and at its very end (created + MaxAge +
	// ClockSkew, when sig2 alone is still acceptable): a replay.
	for _, at := range []struct {
		name string
		d    time.Duration
	}{{"start", 0}, {"end", DefaultMaxAge + DefaultClockSkew}} {
		now := later.Add(at.d)
		if res, err := v.Verify(serverView(t, onlyLabel(t, req, "sig2", "sig2")), now); !errors.Is(err, ErrReplay) {
			t.Errorf("copy stripped down to sig2 at its window's %s: %+v, %v; want ErrReplay", at.name, res, err)
		}
	}
}

// TestVerifyClaimsForgedFutureSignatureOnlyWithAValidOne: another
// signature in the future under an accepted key that passes the policy
// but not its MAC is claimed beside the accepted one (the copy may have
// been altered in what only it covers: the message as sent, stripped down
// to it, would pass; TestVerifyOtherSignatureFailingOnThisCopyIsClaimed),
// until its own window ends; alone, it claims nothing: only a request
// with a valid signature consumes store space, one entry per signature
// at most. (Until session 17 it was never claimed.)
func TestVerifyClaimsForgedFutureSignatureOnlyWithAValidOne(t *testing.T) {
	ka, kb := testKey(t, "a"), testKey(t, "b")
	ks, err := NewKeySet(ka, kb)
	if err != nil {
		t.Fatal(err)
	}
	store := NewMemoryNonceStore(0)
	v := newTestVerifier(t, VerifierOptions{Keys: ks, Nonces: store})
	req, err := http.NewRequest("GET", "https://api.example.com/orders?id=7", nil)
	if err != nil {
		t.Fatal(err)
	}
	sa := mustSigner(t, Options{Keys: StaticKey(ka), Label: "sig1"})
	forged, err := NewHMACKey("b", append([]byte("not-b-"), testSecret...))
	if err != nil {
		t.Fatal(err)
	}
	forger := mustSigner(t, Options{Keys: StaticKey(forged), Label: "sig2"})
	if err := sa.Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	if err := forger.Sign(context.Background(), req, t0.Add(2*DefaultClockSkew)); err != nil {
		t.Fatal(err)
	}
	if res, err := v.Verify(serverView(t, req), t0); err != nil || res.Label != "sig1" {
		t.Fatalf("Verify = %+v, %v; want sig1 accepted", res, err)
	}
	if n := store.Len(); n != 2 {
		t.Errorf("store holds %d nonces, want 2: the accepted signature's and the other's under an accepted key", n)
	}
	alone := NewMemoryNonceStore(0)
	va := newTestVerifier(t, VerifierOptions{Keys: ks, Nonces: alone})
	if _, err := va.Verify(serverView(t, onlyLabel(t, req, "sig2", "sig2")), t0.Add(2*DefaultClockSkew)); err == nil {
		t.Fatal("the forged signature alone was accepted")
	}
	if n := alone.Len(); n != 0 {
		t.Errorf("store holds %d nonces after a request whose only signature is forged, want 0", n)
	}
}
