package signer

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
)

// TestNonceLessReplayWithJunkSignaturesClaimsNothing: under
// AllowMissingNonce a signature without a nonce can be replayed within its
// window (documented). A replay to which anyone has added signatures that
// do not verify, under an accepted key id and with fresh nonces, must not
// get those nonces claimed: otherwise one captured request, replayed with
// MaxSignatures-1 made-up members each time, fills the nonce store
// (ErrNonceStoreFull, 503 for every client) without any key.
func TestNonceLessReplayWithJunkSignaturesClaimsNothing(t *testing.T) {
	k := testKey(t, "a")
	store, err := NewMemoryNonceStoreWithOptions(MemoryNonceOptions{Capacity: 4})
	if err != nil {
		t.Fatal(err)
	}
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), AllowMissingNonce: true, Nonces: store})
	s := mustSigner(t, Options{Keys: StaticKey(k), Params: []Param{ParamCreated, ParamKeyID}})
	req, err := http.NewRequest("GET", "https://api.example.com/orders?id=7", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		r := serverView(t, req)
		for j := range MaxSignatures - 1 {
			junkSig(r, "j"+strconv.Itoa(j), junkComponents, junkParams(t0, "a", "junk-"+strconv.Itoa(i)+"-"+strconv.Itoa(j)))
		}
		if _, err := v.Verify(r, t0); err != nil {
			t.Fatalf("replay %d of a nonce-less request (AllowMissingNonce) refused: %v", i, err)
		}
	}
	if n := store.Len(); n != 0 {
		t.Fatalf("nonce store holds %d nonces of signatures that never verified, want 0", n)
	}

	// A second signature that does verify still has its nonce claimed,
	// so the message cannot be replayed stripped down to it.
	s2 := mustSigner(t, Options{Keys: StaticKey(k), Label: "sig2"})
	if err := s2.Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(serverView(t, req), t0); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(serverView(t, req), t0); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay of a request whose second signature has a nonce: %v, want ErrReplay", err)
	}
}
