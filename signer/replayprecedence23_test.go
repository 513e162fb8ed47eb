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

// claimOnly23 is a NonceStore that is no NonceChecker (as a Redis store
// need not be): the verifier can only learn of a replay by claiming.
type claimOnly23 struct{ s *MemoryNonceStore }

func (c claimOnly23) Claim(ctx context.Context, keyID, nonce string, now, until time.Time) error {
	return c.s.Claim(ctx, keyID, nonce, now, until)
}

// failingBody23 is a body whose read fails, as a connection reset does.
type failingBody23 struct{}

func (failingBody23) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
func (failingBody23) Close() error             { return nil }

// TestReplayWinsOverOtherSignatureFailure: a replay of an accepted request
// (its nonce held) to which another signature was added whose key lookup
// fails (anyone can add one naming a key id the lookup cannot answer),
// or whose other signature covers content-digest while the body cannot be
// read (a replay sending the body truncated), was refused with that other
// signature's error: ErrUnavailable (a 503 with Retry-After, inviting the
// replay again) or ErrBodyUnreadable (400), so the replay was neither
// reported nor answered as one. It is now refused as ErrReplay, as a
// request refused for another signature's window (ErrFuture) already
// was; a fresh request with such a signature is still refused with that
// signature's error. Both with a NonceChecker store and with one that
// can only claim.
func TestReplayWinsOverOtherSignatureFailure(t *testing.T) {
	ka := testKey(t, "a")
	ks, err := NewKeySet(ka)
	if err != nil {
		t.Fatal(err)
	}
	stores := map[string]func() NonceStore{
		"memory":     func() NonceStore { return NewMemoryNonceStore(0) },
		"claim only": func() NonceStore { return claimOnly23{NewMemoryNonceStore(0)} },
	}
	for name, store := range stores {
		t.Run(name+"/key lookup fails", func(t *testing.T) {
			v := newTestVerifier(t, VerifierOptions{Keys: downLookup8{ks}, Nonces: store(), Tag: "app"})
			orig := signedGET(t, ka, "sig1")
			if _, err := v.Verify(serverView(t, orig), t0); err != nil {
				t.Fatalf("original: %v", err)
			}
			// A fresh request with the failing signature: ErrUnavailable.
			fresh := signedGET(t, ka, "sig1")
			junkSig(fresh, "x", junkComponents, junkParams(t0, "down", "junk")+`;tag="app"`)
			if _, err := v.Verify(serverView(t, fresh), t0); !errors.Is(err, ErrUnavailable) {
				t.Errorf("fresh request with a signature whose lookup fails: %v; want ErrUnavailable", err)
			}
			replay := orig.Clone(context.Background())
			junkSig(replay, "x", junkComponents, junkParams(t0, "down", "junk2")+`;tag="app"`)
			_, err := v.Verify(serverView(t, replay), t0)
			if !errors.Is(err, ErrReplay) {
				t.Errorf("replay with a signature whose lookup fails: %v; want ErrReplay", err)
			}
			if errors.Is(err, ErrUnavailable) {
				t.Errorf("replay reported as ErrUnavailable: %v", err)
			}
		})
		t.Run(name+"/body unreadable", func(t *testing.T) {
			v := newTestVerifier(t, VerifierOptions{Keys: ks, Nonces: store(), AllowUnsignedBody: true})
			// Two signatures of one key holder: sig1 without
			// content-digest, sig2 with it.
			req, _ := http.NewRequest("POST", "https://api.example.com/orders", strings.NewReader(`{"n":1}`))
			s1 := mustSigner(t, Options{Keys: StaticKey(ka), Label: "sig1", Components: []Component{Method, Authority, Path, Query}})
			s2 := mustSigner(t, Options{Keys: StaticKey(ka), Label: "sig2"})
			for _, s := range []*Signer{s1, s2} {
				if err := s.Sign(context.Background(), req, t0); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := v.Verify(serverView(t, req), t0); err != nil {
				t.Fatalf("original: %v", err)
			}
			replay := serverView(t, req)
			replay.Body = io.NopCloser(io.MultiReader(strings.NewReader(`{"n`), failingBody23{}))
			_, err := v.Verify(replay, t0)
			if !errors.Is(err, ErrReplay) || errors.Is(err, ErrBodyUnreadable) {
				t.Errorf("replay whose body cannot be read: %v; want ErrReplay", err)
			}
		})
	}
}
