package signer

import (
	"errors"
	"testing"
	"time"
)

// TestNewVerifierRefusesWindowUnderASecond: created has whole seconds
// (RFC 9421 §2.3), so a request signed 0.9 s into a second says it was
// signed 0.9 s before it was. A Verifier whose MaxAge + ClockSkew was
// under a second (MaxAge 500 ms with a tiny ClockSkew, the documented way
// to say "no skew") refused such a request as expired even when it
// arrived at the instant it was signed: about half of all requests, at
// random. NewVerifier now refuses that window with a *ConfigError naming
// MaxAge; a window of a second accepts every request verified when it was
// signed.
func TestNewVerifierRefusesWindowUnderASecond(t *testing.T) {
	ks := StaticKey(testKey(t, "k"))
	for _, o := range []VerifierOptions{
		{Keys: ks, MaxAge: 500 * time.Millisecond, ClockSkew: time.Nanosecond},
		{Keys: ks, MaxAge: time.Nanosecond, ClockSkew: 999 * time.Millisecond},
		{Keys: ks, MaxAge: 1, ClockSkew: 1},
	} {
		_, err := NewVerifier(o)
		ce, ok := errors.AsType[*ConfigError](err)
		if !ok || ce.Option != "VerifierOptions.MaxAge" {
			t.Errorf("NewVerifier(MaxAge %v, ClockSkew %v) = %v, want a *ConfigError naming VerifierOptions.MaxAge", o.MaxAge, o.ClockSkew, err)
		}
	}
	v := newTestVerifier(t, VerifierOptions{Keys: ks, MaxAge: 999 * time.Millisecond, ClockSkew: time.Millisecond})
	s := mustSigner(t, Options{Keys: ks})
	for off := time.Duration(0); off < time.Second; off += 50 * time.Millisecond {
		at := t0.Add(off)
		req := signed(t, s, "GET", "https://api.example.com/orders", "", at)
		if _, err := v.Verify(serverView(t, req), at); err != nil {
			t.Errorf("signed and verified %v into a second: %v", off, err)
		}
	}
}
