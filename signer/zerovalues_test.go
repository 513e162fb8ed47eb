package signer_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/securecall/securecall/signer"
)

func wantConfigErr(t *testing.T, what string, err error, option string) {
	t.Helper()
	var ce *signer.ConfigError
	if !errors.As(err, &ce) || ce.Option != option {
		t.Errorf("%s: %v, want a *ConfigError naming %s", what, err, option)
	}
}

// A zero KeySet (not made by NewKeySet) has no state: SigningKey and
// LookupKey dereferenced it, a panic on the caller's goroutine. New and
// NewVerifier refuse it, and its methods return a typed error.
func TestZeroKeySet(t *testing.T) {
	ctx := context.Background()
	_, err := signer.New(signer.Options{Keys: new(signer.KeySet)})
	wantConfigErr(t, "New", err, "Options.Keys")
	_, err = signer.NewVerifier(signer.VerifierOptions{Keys: new(signer.KeySet)})
	wantConfigErr(t, "NewVerifier", err, "VerifierOptions.Keys")

	var ks signer.KeySet
	_, err = ks.SigningKey(ctx)
	wantConfigErr(t, "SigningKey", err, "KeySet")
	_, err = ks.LookupKey(ctx, "k")
	wantConfigErr(t, "LookupKey", err, "KeySet")
	if !errors.Is(err, signer.ErrUnknownKey) {
		t.Errorf("LookupKey: %v, want it to match ErrUnknownKey", err)
	}
	k, err := signer.NewHMACKey("k", bytes.Repeat([]byte{1}, signer.MinHMACKeySize))
	if err != nil {
		t.Fatal(err)
	}
	wantConfigErr(t, "Add", ks.Add(k), "KeySet")
	wantConfigErr(t, "Rotate", ks.Rotate(k), "KeySet")
	wantConfigErr(t, "Remove", ks.Remove("k"), "KeySet")
	if ids := ks.IDs(); len(ids) != 0 {
		t.Errorf("IDs = %v, want none", ids)
	}
}

// A zero Key (not made by a constructor) is refused where keys are given.
func TestZeroKeyRefused(t *testing.T) {
	_, err := signer.NewKeySet(new(signer.Key))
	wantConfigErr(t, "NewKeySet", err, "NewKeySet")
	k, _ := signer.NewHMACKey("k", bytes.Repeat([]byte{1}, signer.MinHMACKeySize))
	ks, _ := signer.NewKeySet(k)
	wantConfigErr(t, "Add", ks.Add(new(signer.Key)), "KeySet.Add")
	_, err = signer.StaticKey(new(signer.Key)).SigningKey(context.Background())
	wantConfigErr(t, "StaticKey", err, "StaticKey")
}

// A zero Signer has no key source: Sign dereferenced it.
func TestZeroSigner(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "https://api.example/x", nil)
	wantConfigErr(t, "Sign", new(signer.Signer).Sign(context.Background(), req, time.Now()), "Signer")
}

// A zero Verifier has no key lookup and no clock: Verify and Middleware
// dereferenced them.
func TestZeroVerifier(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "https://api.example/x", nil)
	req.Header.Set("Signature-Input", `sig1=();keyid="k"`)
	req.Header.Set("Signature", `sig1=:AAAA:`)
	_, err := new(signer.Verifier).Verify(req, time.Now())
	wantConfigErr(t, "Verify", err, "Verifier")

	called := false
	h := new(signer.Verifier).Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if called || rec.Code != http.StatusInternalServerError {
		t.Errorf("zero Verifier's Middleware: status %d, next called %v; want 500 and next not called", rec.Code, called)
	}
}

// A zero MemoryNonceStore has no clock: Claim dereferenced it. NewVerifier
// refuses it; Claim fails closed with a typed error.
func TestZeroMemoryNonceStore(t *testing.T) {
	k, _ := signer.NewHMACKey("k", bytes.Repeat([]byte{1}, signer.MinHMACKeySize))
	_, err := signer.NewVerifier(signer.VerifierOptions{Keys: signer.StaticKey(k), Nonces: new(signer.MemoryNonceStore)})
	wantConfigErr(t, "NewVerifier", err, "VerifierOptions.Nonces")
	now := time.Now()
	err = new(signer.MemoryNonceStore).Claim(context.Background(), "k", "n", now, now.Add(time.Minute))
	wantConfigErr(t, "Claim", err, "MemoryNonceStore")
}
