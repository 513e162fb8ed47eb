package signer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// zeros is an endless source of zero bytes that holds no memory.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestSignLargeBodyHeap signs a 256 MiB body (GetBody) and asserts the
// signer allocates at most 1 MiB doing so: the digest is streamed, never
// buffered.
func TestSignLargeBodyHeap(t *testing.T) {
	const size = 256 << 20
	s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k"))})
	newReq := func(n int64) *http.Request {
		req, _ := http.NewRequest("PUT", "https://example.com/blob", nil)
		req.Body = io.NopCloser(io.LimitReader(zeros{}, n))
		req.ContentLength = n
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(io.LimitReader(zeros{}, n)), nil }
		return req
	}
	// Warm the pools so the measurement is of signing, not of first use.
	if err := s.Sign(context.Background(), newReq(1), t0); err != nil {
		t.Fatal(err)
	}
	req := newReq(size)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := s.Sign(context.Background(), req, t0)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("signing a %d MiB body allocated %d bytes", size>>20, allocated)
	if allocated > 1<<20 {
		t.Fatalf("signing a %d MiB body allocated %d bytes, budget 1 MiB", size>>20, allocated)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(zeros{}, size)); err != nil {
		t.Fatal(err)
	}
	if want := "sha-256=:" + base64.StdEncoding.EncodeToString(h.Sum(nil)) + ":"; req.Header.Get("Content-Digest") != want {
		t.Errorf("Content-Digest = %s, want %s", req.Header.Get("Content-Digest"), want)
	}
}

func resetSignature(h http.Header) {
	delete(h, "Signature-Input")
	delete(h, "Signature")
}

func BenchmarkSign(b *testing.B) {
	ctx := context.Background()
	now := t0
	b.Run("GET/hmac-sha256", func(b *testing.B) {
		s := mustSigner(b, Options{Keys: StaticKey(testKey(b, "k"))})
		req, _ := http.NewRequest("GET", "https://api.example.com/v1/items?limit=10", nil)
		req.Header.Set("Authorization", "Bearer abcdefghijklmnopqrstuvwxyz")
		b.ReportAllocs()
		for b.Loop() {
			resetSignature(req.Header)
			if err := s.Sign(ctx, req, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GET/ed25519", func(b *testing.B) {
		s := mustSigner(b, Options{Keys: StaticKey(testEdKey(b, "k"))})
		req, _ := http.NewRequest("GET", "https://api.example.com/v1/items?limit=10", nil)
		b.ReportAllocs()
		for b.Loop() {
			resetSignature(req.Header)
			if err := s.Sign(ctx, req, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("POST-1KiB/hmac-sha256", func(b *testing.B) {
		s := mustSigner(b, Options{Keys: StaticKey(testKey(b, "k"))})
		body := bytes.Repeat([]byte("a"), 1024)
		req, _ := http.NewRequest("POST", "https://api.example.com/v1/items", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			resetSignature(req.Header)
			delete(req.Header, "Content-Digest")
			if err := s.Sign(ctx, req, now); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// acceptAll is a NonceStore that records nothing, so one signed request
// can be verified repeatedly.
type acceptAll struct{}

func (acceptAll) Claim(context.Context, string, string, time.Time, time.Time) error { return nil }

func BenchmarkVerify(b *testing.B) {
	k := testKey(b, "k")
	s := mustSigner(b, Options{Keys: StaticKey(k)})
	v := newTestVerifier(b, VerifierOptions{Keys: StaticKey(k), Nonces: acceptAll{}})
	b.Run("GET/hmac-sha256", func(b *testing.B) {
		req := serverView(b, signed(b, s, "GET", "https://api.example.com/v1/items?limit=10", "", t0))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(req, t0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("POST-1KiB/hmac-sha256", func(b *testing.B) {
		body := strings.Repeat("a", 1024)
		req := serverView(b, signed(b, s, "POST", "https://api.example.com/v1/items", body, t0))
		rd := strings.NewReader(body)
		req.Body = io.NopCloser(rd)
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			rd.Reset(body)
			req.Body = io.NopCloser(rd)
			if _, err := v.Verify(req, t0); err != nil {
				b.Fatal(err)
			}
		}
	})
}
