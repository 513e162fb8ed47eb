package signer

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// review12Server serves v's Middleware over loopback; the handler answers
// 200 with the body it read.
func review12Server(t *testing.T, v *Verifier) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})))
	t.Cleanup(srv.Close)
	return srv
}

func review12Do(t *testing.T, req *http.Request) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestVerifyBoundsFarFutureOtherSignatureClaim: a request signed twice,
// its second signature's created a year ahead (a key holder's choice, or a
// signer whose clock is a year off). Its nonce was claimed until the end of
// that signature's own window, a year on, whatever the verifier's window:
// a key holder could fill a MemoryNonceStore for good (every later request
// refused with 503 until a restart) and grow a Redis store without bound.
// No nonce may be held longer than twice the verifier's window.
func TestVerifyBoundsFarFutureOtherSignatureClaim(t *testing.T) {
	ka, kb := testKey(t, "a"), testKey(t, "b")
	ks, err := NewKeySet(ka, kb)
	if err != nil {
		t.Fatal(err)
	}
	var now atomic.Pointer[time.Time]
	setNow := func(at time.Time) { now.Store(&at) }
	setNow(t0)
	store := NewMemoryNonceStore(2)
	v := newTestVerifier(t, VerifierOptions{Keys: ks, Nonces: store, Clock: func() time.Time { return *now.Load() }})
	srv := review12Server(t, v)
	sa := mustSigner(t, Options{Keys: StaticKey(ka), Label: "sig1"})
	sb := mustSigner(t, Options{Keys: StaticKey(kb), Label: "sig2"})

	req, err := http.NewRequest("GET", srv.URL+"/orders?id=7", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sa.Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	if err := sb.Sign(context.Background(), req, t0.Add(365*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	first := review12Do(t, req)
	if first != http.StatusUnauthorized {
		t.Errorf("request whose other signature is a year ahead: %d, want 401 (its nonce cannot be held that long)", first)
	}
	if _, err := v.Verify(serverView(t, req), t0); !errors.Is(err, ErrFuture) {
		t.Errorf("Verify: %v, want ErrFuture", err)
	}

	// Two windows on, nothing claimed at t0 may still be held: two fresh
	// requests fit in a store of two.
	window := DefaultMaxAge + 2*DefaultClockSkew
	later := t0.Add(2*window + time.Second)
	setNow(later)
	for i := range 2 {
		r, err := http.NewRequest("GET", srv.URL+"/orders?id=8", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := sa.Sign(context.Background(), r, later); err != nil {
			t.Fatal(err)
		}
		if code := review12Do(t, r); code != http.StatusOK {
			t.Fatalf("fresh request %d two windows after a request whose other signature is a year ahead (answered %d): %d, want 200 (a nonce outlived the verifier's window)", i, first, code)
		}
	}
}

// TestNewVerifierNamesNegativeOption: a negative MaxAge, ClockSkew or
// MaxBodySize was a *ConfigError naming "VerifierOptions" for all three,
// so the caller could not tell which option was wrong.
func TestNewVerifierNamesNegativeOption(t *testing.T) {
	ks := StaticKey(testKey(t, "k"))
	for _, c := range []struct {
		option string
		opts   VerifierOptions
	}{
		{"VerifierOptions.MaxAge", VerifierOptions{Keys: ks, MaxAge: -time.Second}},
		{"VerifierOptions.ClockSkew", VerifierOptions{Keys: ks, ClockSkew: -time.Nanosecond}},
		{"VerifierOptions.MaxBodySize", VerifierOptions{Keys: ks, MaxBodySize: -1}},
	} {
		_, err := NewVerifier(c.opts)
		ce, ok := errors.AsType[*ConfigError](err)
		if !ok || ce.Option != c.option {
			t.Errorf("NewVerifier(%s < 0) = %v, want a *ConfigError naming %s", c.option, err, c.option)
		}
	}
}
