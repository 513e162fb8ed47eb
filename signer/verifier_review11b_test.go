package signer

import (
	"io"
	"math"
	"strings"
	"testing"
)

// TestVerifyMaxBodySizeMaxInt64 reads the body: MaxBodySize math.MaxInt64
// ("no cap of our own") once made the read limit wrap negative, so every
// body read as empty and was checked, and handed on, as such.
func TestVerifyMaxBodySizeMaxInt64(t *testing.T) {
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k)})
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), MaxBodySize: math.MaxInt64})
	body := `{"item":42}`
	req := serverView(t, signed(t, s, "POST", "https://api.example.com/v1/items", body, t0))
	if _, err := v.Verify(req, t0); err != nil {
		t.Fatalf("Verify = %v, want nil", err)
	}
	got := new(strings.Builder)
	if _, err := io.Copy(got, req.Body); err != nil {
		t.Fatal(err)
	}
	if got.String() != body {
		t.Fatalf("handler body = %q, want %q", got, body)
	}
}
