package signer

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// TestVerifyReplayWithFarFutureSignatureIsReplay: a captured request
// whose accepted signature's nonce is already held, replayed with an
// added signature under an accepted key whose window ends more than two
// verifier windows ahead (anyone can add one: it need not verify), was
// refused as ErrFuture, not ErrReplay, on a nonce store that is not a
// NonceChecker (fleet.NonceStore): still a 401, but the replay went
// uncounted by whoever counts ErrReplay, and a replayer without a key
// could keep every replay out of those counts. The replay is refused as
// ErrReplay, on either kind of store, and a fresh request carrying such a
// signature is still refused as ErrFuture. A NonceChecker tells without
// recording the nonce (the same request without the added signature is
// accepted after it); another store tells only by the claim, which holds
// the nonce of the refused request (its sender signs afresh), as for a
// request refused as stale once its claims are made.
func TestVerifyReplayWithFarFutureSignatureIsReplay(t *testing.T) {
	for _, tc := range []struct {
		name     string
		store    func() NonceStore
		recorded bool // the refused fresh request's nonce is held after
	}{
		{"NonceChecker", func() NonceStore { return NewMemoryNonceStore(0) }, false},
		{"not a NonceChecker", func() NonceStore { return &countingStore{m: NewMemoryNonceStore(0)} }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ka, kb := testKey(t, "a"), testKey(t, "b")
			ks, err := NewKeySet(ka, kb)
			if err != nil {
				t.Fatal(err)
			}
			v := newTestVerifier(t, VerifierOptions{Keys: ks, Nonces: tc.store()})
			forged, err := NewHMACKey("b", append([]byte("not-b-"), testSecret...))
			if err != nil {
				t.Fatal(err)
			}
			forger := mustSigner(t, Options{Keys: StaticKey(forged), Label: "sig2"})
			sa := mustSigner(t, Options{Keys: StaticKey(ka), Label: "sig1"})
			far := t0.Add(10 * (DefaultMaxAge + 2*DefaultClockSkew))
			newReq := func() *http.Request {
				req, err := http.NewRequest("GET", "https://api.example.com/orders?id=7", nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := sa.Sign(context.Background(), req, t0); err != nil {
					t.Fatal(err)
				}
				return req
			}
			withFuture := func(req *http.Request) *http.Request {
				r := req.Clone(context.Background())
				if err := forger.Sign(context.Background(), r, far); err != nil {
					t.Fatal(err)
				}
				return r
			}

			// A fresh request with the added signature: ErrFuture.
			fresh := newReq()
			if _, err := v.Verify(serverView(t, withFuture(fresh)), t0); !errors.Is(err, ErrFuture) {
				t.Fatalf("fresh request with a far-future signature: %v, want ErrFuture", err)
			}
			if tc.recorded {
				if _, err := v.Verify(serverView(t, fresh), t0.Add(time.Second)); !errors.Is(err, ErrReplay) {
					t.Fatalf("the same request without it, after: %v, want ErrReplay (its nonce claimed)", err)
				}
				fresh = newReq() // a fresh signature, as its sender makes
			}
			if _, err := v.Verify(serverView(t, fresh), t0.Add(time.Second)); err != nil {
				t.Fatalf("the request without it: %v, want it accepted", err)
			}

			// A replay of an accepted request with the added signature:
			// ErrReplay.
			if _, err := v.Verify(serverView(t, withFuture(fresh)), t0.Add(2*time.Second)); !errors.Is(err, ErrReplay) {
				t.Fatalf("replay with a far-future signature: %v, want ErrReplay", err)
			}
		})
	}
}
