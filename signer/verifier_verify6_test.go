package signer

import (
	"errors"
	"math"
	"testing"
	"time"
)

// TestNewVerifierRefusesWindowOverflow: MaxAge and ClockSkew are added to
// each other (and to created) to bound created and to say how long a nonce
// is remembered. With MaxAge = math.MaxInt64 ("no limit") and ClockSkew =
// 1 (the documented "none") the sum wraps to math.MinInt64: every created
// passed the age check and every nonce was remembered until a time 292
// years in the past, that is not at all, so one signed request could be
// replayed without end. Such a window must be a *ConfigError.
func TestNewVerifierRefusesWindowOverflow(t *testing.T) {
	ks := StaticKey(testKey(t, "k"))
	for _, o := range []VerifierOptions{
		{Keys: ks, MaxAge: math.MaxInt64, ClockSkew: 1},
		{Keys: ks, MaxAge: math.MaxInt64},
		{Keys: ks, ClockSkew: math.MaxInt64},
		{Keys: ks, MaxAge: math.MaxInt64 / 2, ClockSkew: math.MaxInt64 / 3},
	} {
		v, err := NewVerifier(o)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != "VerifierOptions.MaxAge" {
			t.Errorf("NewVerifier(MaxAge %v, ClockSkew %v) = %v, %v; want a *ConfigError for VerifierOptions.MaxAge", o.MaxAge, o.ClockSkew, v, err)
			continue
		}
	}
	// The largest window that does not overflow is accepted.
	if _, err := NewVerifier(VerifierOptions{Keys: ks, MaxAge: math.MaxInt64 - 2, ClockSkew: 1}); err != nil {
		t.Fatal(err)
	}
	// A long window that does not overflow keeps refusing replays.
	k := testKey(t, "k")
	v, err := NewVerifier(VerifierOptions{Keys: StaticKey(k), MaxAge: 100 * 365 * 24 * time.Hour, ClockSkew: 1})
	if err != nil {
		t.Fatal(err)
	}
	s := mustSigner(t, Options{Keys: StaticKey(k)})
	req := signed(t, s, "GET", "https://api.example.com/x", "", t0)
	if _, err := v.Verify(serverView(t, req), t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(serverView(t, req), t0.Add(2*time.Second)); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay: %v; want ErrReplay", err)
	}
}

// TestMemoryNonceStoreUntilBeyondUnixNano: until is kept in Unix
// nanoseconds, which end in 2262. A later until (a verifier with a MaxAge of
// centuries) wrapped to a negative number, was taken for "already outside
// its window" and not remembered: the nonce could be replayed.
func TestMemoryNonceStoreUntilBeyondUnixNano(t *testing.T) {
	s := NewMemoryNonceStore(4)
	ctx := t.Context()
	far := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.Claim(ctx, "k", "n", t0, far); err != nil {
		t.Fatal(err)
	}
	if err := s.Claim(ctx, "k", "n", t0.Add(time.Hour), far); !errors.Is(err, ErrReplay) {
		t.Fatalf("second claim = %v; want ErrReplay", err)
	}
	if n := s.Len(); n != 1 {
		t.Fatalf("Len = %d; want 1", n)
	}
}
