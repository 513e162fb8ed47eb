package fleet

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/signer"
)

// TestNonceStoreRefusesClaimBeyondMaxRetention: a NonceStore set a nonce
// key with whatever life its caller's until gave, so a verifier other than
// signer.Verifier on it let a key holder make keys that live a year each
// (Redis growing without bound). A claim whose until is more than
// MaxRetention ahead is refused with signer.ErrBeyondRetention before any
// Redis call: no key, and Redis is not marked down. It is not clamped: the
// signature is acceptable until its until, so it would be replayable once
// a shorter key expired.
func TestNonceStoreRefusesClaimBeyondMaxRetention(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	st, err := NewNonceStore(srv.Client(), NonceOptions{Prefix: "r:", Timeout: patientTimeout})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := st.Claim(ctx, "k", "far", now, now.Add(365*24*time.Hour)); !errors.Is(err, signer.ErrBeyondRetention) {
		t.Errorf("claim until a year ahead: %v, want signer.ErrBeyondRetention", err)
	}
	keys, err := srv.Client().Keys(ctx, "r:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Errorf("keys after a refused claim: %v, want none", keys)
	}
	if s := st.Stats(); s.Degraded {
		t.Errorf("a refused claim marked Redis down: %+v", s)
	}
	// Within the retention (its edge included) the claim is made, and its
	// key lives no longer than the retention and the clock margin.
	if err := st.Claim(ctx, "k", "near", now, now.Add(signer.DefaultNonceMaxRetention)); err != nil {
		t.Fatalf("claim until now + MaxRetention: %v", err)
	}
	pttl, err := srv.Client().PTTL(ctx, st.key("k", "near")).Result()
	if most := signer.DefaultNonceMaxRetention + DefaultNonceClockMargin + time.Millisecond; err != nil || pttl <= 0 || pttl > most {
		t.Errorf("key life %v, %v; want at most %v", pttl, err, most)
	}
	if err := st.Claim(ctx, "k", "near", now, now.Add(time.Minute)); !errors.Is(err, signer.ErrReplay) {
		t.Errorf("replay: %v", err)
	}
}

func TestNonceStoreMaxRetentionOption(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	var ce *ConfigError
	if _, err := NewNonceStore(srv.Client(), NonceOptions{MaxRetention: -time.Second}); !errors.As(err, &ce) || ce.Option != "MaxRetention" {
		t.Errorf("negative MaxRetention: %v, want a *ConfigError naming MaxRetention", err)
	}
	st, err := NewNonceStore(srv.Client(), NonceOptions{Prefix: "o:", Timeout: patientTimeout, MaxRetention: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if got := st.MaxRetention(); got != 10*time.Minute {
		t.Errorf("MaxRetention: %v, want 10m", got)
	}
	now := time.Now()
	if err := st.Claim(ctx, "k", "a", now, now.Add(10*time.Minute)); err != nil {
		t.Errorf("claim at the retention: %v", err)
	}
	if err := st.Claim(ctx, "k", "b", now, now.Add(10*time.Minute+time.Millisecond)); !errors.Is(err, signer.ErrBeyondRetention) {
		t.Errorf("claim beyond the retention: %v, want signer.ErrBeyondRetention", err)
	}
	var zero NonceStore
	if got := zero.MaxRetention(); got != 0 {
		t.Errorf("zero store's MaxRetention: %v", got)
	}

	// FallBackLocal: the default Local keeps as long as the store; a Local
	// keeping less would refuse, during an outage, claims the store takes.
	fb, err := NewNonceStore(srv.Client(), NonceOptions{Policy: FallBackLocal, MaxRetention: 3 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if got := fb.local.(*signer.MemoryNonceStore).MaxRetention(); got != 3*time.Hour {
		t.Errorf("default Local's MaxRetention: %v, want 3h", got)
	}
	if _, err := NewNonceStore(srv.Client(), NonceOptions{Policy: FallBackLocal, MaxRetention: 3 * time.Hour,
		Local: signer.NewMemoryNonceStore(0)}); !errors.As(err, &ce) || ce.Option != "Local" {
		t.Errorf("Local keeping 1h under a 3h MaxRetention: %v, want a *ConfigError naming Local", err)
	}

	// signer.NewVerifier refuses a store keeping less than two of its
	// windows (every such claim would be refused).
	k, err := signer.NewHMACKey("k", testSecret)
	if err != nil {
		t.Fatal(err)
	}
	_, err = signer.NewVerifier(signer.VerifierOptions{Keys: signer.StaticKey(k), Nonces: st, MaxAge: 10 * time.Minute})
	var sce *signer.ConfigError
	if !errors.As(err, &sce) || sce.Option != "VerifierOptions.Nonces" {
		t.Errorf("verifier with a 21m window on a 10m store: %v, want a *ConfigError naming VerifierOptions.Nonces", err)
	}
	if _, err := signer.NewVerifier(signer.VerifierOptions{Keys: signer.StaticKey(k), Nonces: st}); err != nil {
		t.Errorf("default verifier on a 10m store: %v", err)
	}
}
