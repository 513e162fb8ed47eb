package signer

import (
	"context"
	"errors"
	"math"
	"net/http"
	"testing"
	"time"
)

// TestMemoryNonceStoreRefusesClaimBeyondMaxRetention: a MemoryNonceStore
// held a nonce until whatever `until` its caller gave, so a verifier other
// than this package's, on the documented NonceStore interface, let a key
// holder fill it for a year (every later claim ErrNonceStoreFull, 503,
// until a restart). A claim whose until is more than MaxRetention ahead is
// refused (ErrBeyondRetention) and takes no room; one within it is kept.
// Clamping the entry to now + MaxRetention would not do: the signature is
// acceptable until its until, so a replay after the clamp would pass.
func TestMemoryNonceStoreRefusesClaimBeyondMaxRetention(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryNonceStore(1)
	if got := s.MaxRetention(); got != DefaultNonceMaxRetention {
		t.Fatalf("MaxRetention: %v, want DefaultNonceMaxRetention (%v)", got, DefaultNonceMaxRetention)
	}
	year := t0.Add(365 * 24 * time.Hour)
	if err := s.Claim(ctx, "k", "far", t0, year); !errors.Is(err, ErrBeyondRetention) {
		t.Errorf("claim until a year ahead: %v, want ErrBeyondRetention", err)
	}
	if n := s.Len(); n != 0 {
		t.Errorf("%d entries after a refused claim, want 0", n)
	}
	// The one slot is still free for a nonce within the retention, at its
	// edge included.
	if err := s.Claim(ctx, "k", "near", t0, t0.Add(DefaultNonceMaxRetention)); err != nil {
		t.Fatalf("claim until now + MaxRetention: %v", err)
	}
	if err := s.Claim(ctx, "k", "near", t0.Add(DefaultNonceMaxRetention), t0.Add(DefaultNonceMaxRetention)); !errors.Is(err, ErrReplay) {
		t.Errorf("replay at its until: %v, want ErrReplay", err)
	}
	// A far claim for a nonce already held is still a replay.
	if err := s.Claim(ctx, "k", "near", t0, year); !errors.Is(err, ErrReplay) {
		t.Errorf("far claim of a held nonce: %v, want ErrReplay", err)
	}
	// An until past 2262 (UnixNano saturates) is refused as well.
	if err := s.Claim(ctx, "k2", "n", t0, time.Unix(math.MaxInt64/2, 0)); !errors.Is(err, ErrBeyondRetention) {
		t.Errorf("claim until the year 10^11: %v, want ErrBeyondRetention", err)
	}
}

func TestMemoryNonceStoreMaxRetentionOption(t *testing.T) {
	ctx := context.Background()
	s, err := NewMemoryNonceStoreWithOptions(MemoryNonceOptions{Capacity: 4, MaxRetention: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.MaxRetention(); got != 10*time.Minute {
		t.Errorf("MaxRetention: %v, want 10m", got)
	}
	if err := s.Claim(ctx, "k", "a", t0, t0.Add(10*time.Minute)); err != nil {
		t.Errorf("claim at the retention: %v", err)
	}
	if err := s.Claim(ctx, "k", "b", t0, t0.Add(10*time.Minute+time.Nanosecond)); !errors.Is(err, ErrBeyondRetention) {
		t.Errorf("claim a nanosecond beyond the retention: %v, want ErrBeyondRetention", err)
	}
	d, err := NewMemoryNonceStoreWithOptions(MemoryNonceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.MaxRetention() != DefaultNonceMaxRetention || d.capacity != DefaultNonceCapacity {
		t.Errorf("zero options: retention %v capacity %d, want the defaults", d.MaxRetention(), d.capacity)
	}
	for _, c := range []struct {
		opts   MemoryNonceOptions
		option string
	}{
		{MemoryNonceOptions{MaxRetention: -time.Second}, "MemoryNonceOptions.MaxRetention"},
		{MemoryNonceOptions{Capacity: -1}, "MemoryNonceOptions.Capacity"},
	} {
		_, err := NewMemoryNonceStoreWithOptions(c.opts)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != c.option {
			t.Errorf("%+v: %v, want a *ConfigError naming %s", c.opts, err, c.option)
		}
	}
	var zero MemoryNonceStore
	if got := zero.MaxRetention(); got != 0 {
		t.Errorf("zero store's MaxRetention: %v, want 0", got)
	}
}

// TestVerifierRefusesStoreWithShortRetention: a verifier claims nonces
// until up to two of its windows ahead (another signature's window); on a
// store that refuses such claims every request would fail, so NewVerifier
// refuses the pair, naming VerifierOptions.Nonces. Its own default store
// keeps as long as its window needs.
func TestVerifierRefusesStoreWithShortRetention(t *testing.T) {
	k := testKey(t, "k")
	short, err := NewMemoryNonceStoreWithOptions(MemoryNonceOptions{MaxRetention: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewVerifier(VerifierOptions{Keys: StaticKey(k), Nonces: short})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Option != "VerifierOptions.Nonces" {
		t.Errorf("store keeping 2m under a 2m window: %v, want a *ConfigError naming VerifierOptions.Nonces", err)
	}
	fits, err := NewMemoryNonceStoreWithOptions(MemoryNonceOptions{MaxRetention: 2 * (DefaultMaxAge + 2*DefaultClockSkew)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewVerifier(VerifierOptions{Keys: StaticKey(k), Nonces: fits}); err != nil {
		t.Errorf("store keeping two windows: %v", err)
	}
	// A verifier with a window longer than the default retention, on its
	// own store, accepts a request and refuses its replay.
	const maxAge = 3 * time.Hour
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), MaxAge: maxAge})
	if got, want := v.nonces.(*MemoryNonceStore).MaxRetention(), 2*(maxAge+2*DefaultClockSkew); got != want {
		t.Errorf("own store's MaxRetention: %v, want %v", got, want)
	}
	s := mustSigner(t, Options{Keys: StaticKey(k)})
	req, err := http.NewRequest("GET", "http://api.example/orders?id=7", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(serverView(t, req), t0.Add(time.Hour)); err != nil {
		t.Fatalf("request an hour old under a 3h MaxAge: %v", err)
	}
	if _, err := v.Verify(serverView(t, req), t0.Add(2*time.Hour)); !errors.Is(err, ErrReplay) {
		t.Errorf("its replay an hour later: %v, want ErrReplay", err)
	}
}
