package signer

import (
	"errors"
	"io"
	"runtime"
	"testing"
)

// TestVerifyDoesNotPreallocateClaimedContentLength: Content-Length is not
// covered by default, so anyone replaying a captured signed request (the
// nonce is checked last) may claim any length up to MaxBodySize and send
// no body. The verifier must not allocate what is claimed, only what
// arrives: otherwise each such connection pins MaxBodySize of memory.
func TestVerifyDoesNotPreallocateClaimedContentLength(t *testing.T) {
	const claimed = 8 << 20
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k)})
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Nonces: acceptAll{}})
	req := serverView(t, signed(t, s, "POST", "https://api.example.com/v1/items", `{"a":1}`, t0))
	req.ContentLength = claimed // the body stays 7 bytes: it ends early
	req.Body = io.NopCloser(io.LimitReader(zeros{}, 7))
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := v.Verify(req, t0)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("Verify = %v, want ErrDigestMismatch", err)
	}
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 1<<20 {
		t.Fatalf("verifying a 7-byte body claiming Content-Length %d allocated %d bytes, budget 1 MiB", claimed, allocated)
	}
}
