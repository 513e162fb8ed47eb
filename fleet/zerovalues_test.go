package fleet_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/fleet"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/transport"
)

func wantZeroConfigErr(t *testing.T, what string, err error, option, reason string) {
	t.Helper()
	var ce *fleet.ConfigError
	if !errors.As(err, &ce) || ce.Option != option || !strings.Contains(ce.Reason, reason) {
		t.Errorf("%s: %v, want a *ConfigError naming %s for %q", what, err, option, reason)
	}
}

// The zero values of the fleet stores (new(fleet.NonceStore) and the like)
// have no Redis client and no health state: every method dereferenced
// them, and a zero NonceStore given to a Verifier panicked in each
// request's handler. The constructors and options that take a store refuse
// them with a *ConfigError naming the option.
func TestZeroStoresRefused(t *testing.T) {
	k, err := signer.NewHMACKey("k", bytes.Repeat([]byte{1}, signer.MinHMACKeySize))
	if err != nil {
		t.Fatal(err)
	}
	_, err = signer.NewVerifier(signer.VerifierOptions{Keys: signer.StaticKey(k), Nonces: new(fleet.NonceStore)})
	wantZeroConfigErr(t, "NewVerifier", err, "VerifierOptions.Nonces", "not made by NewNonceStore")

	origins := client.WithOrigins("https://api.example")
	_, err = client.New(origins, client.WithCooldownStore(new(fleet.CooldownStore)))
	wantZeroConfigErr(t, "WithCooldownStore", err, "WithCooldownStore", "not made by NewCooldownStore")
	_, err = client.New(origins, client.WithBreakerStore(new(fleet.BreakerStore)))
	wantZeroConfigErr(t, "WithBreakerStore", err, "WithBreakerStore", "not made by NewBreakerStore")
	_, err = client.New(origins, client.WithSharedQuota(new(fleet.Quota)))
	wantZeroConfigErr(t, "WithSharedQuota", err, "WithSharedQuota", "not made by NewQuota")
	_, err = client.New(origins, client.WithFleet(new(fleet.Fleet)))
	wantZeroConfigErr(t, "WithFleet", err, "WithFleet", "not made by New")

	_, err = transport.NewRetry(nil, transport.RetryConfig{Cooldowns: new(fleet.CooldownStore)})
	wantZeroConfigErr(t, "NewRetry", err, "RetryConfig.Cooldowns", "not made by NewCooldownStore")
	_, err = transport.NewBreaker(nil, transport.BreakerConfig{Store: new(fleet.BreakerStore)})
	wantZeroConfigErr(t, "NewBreaker", err, "BreakerConfig.Store", "not made by NewBreakerStore")
	_, err = transport.NewThrottle(nil, transport.ThrottleConfig{Quota: new(fleet.Quota)})
	wantZeroConfigErr(t, "NewThrottle", err, "ThrottleConfig.Quota", "not made by NewQuota")
	rc := transport.StandardPreset()
	rc.Throttle.Quota = new(fleet.Quota)
	_, err = transport.NewResilience(nil, rc)
	wantZeroConfigErr(t, "NewResilience", err, "ThrottleConfig.Quota", "not made by NewQuota")
}

// A zero NonceStore's Claim panicked; it now fails closed: every nonce is
// refused with a *ConfigError, never accepted.
func TestZeroNonceStoreFailsClosed(t *testing.T) {
	now := time.Now()
	var s fleet.NonceStore
	err := s.Claim(context.Background(), "k", "n", now, now.Add(time.Minute))
	wantZeroConfigErr(t, "Claim", err, "NonceStore", "not made by NewNonceStore")
	if st := s.Stats(); st != (fleet.Stats{}) {
		t.Errorf("Stats = %+v, want zero", st)
	}
}

// A zero Quota's TakeQuota panicked; it now fails closed with a
// *ConfigError rather than granting the request.
func TestZeroQuotaFailsClosed(t *testing.T) {
	var q fleet.Quota
	d, err := q.TakeQuota(context.Background(), "api.example:443")
	if d != 0 {
		t.Errorf("TakeQuota wait = %v, want 0", d)
	}
	wantZeroConfigErr(t, "TakeQuota", err, "Quota", "not made by NewQuota")
	_ = q.Stats()
}

// A zero CooldownStore or BreakerStore records nothing and reports
// nothing, instead of panicking (the layers refuse them anyway).
func TestZeroUntilStores(t *testing.T) {
	ctx := context.Background()
	until := time.Now().Add(time.Minute)
	var c fleet.CooldownStore
	c.SetCooldown("h", until)
	if !c.CooldownUntil("h").IsZero() || !c.CooldownUntilAt("h", time.Now()).IsZero() {
		t.Error("zero CooldownStore recorded a cooldown")
	}
	c.ReportDegraded(ctx)
	_ = c.Stats()
	var b fleet.BreakerStore
	b.SetOpenUntil("h", until)
	if !b.OpenUntil("h").IsZero() || !b.OpenUntilAt("h", time.Now()).IsZero() {
		t.Error("zero BreakerStore recorded an open end")
	}
	b.ReportDegraded(ctx)
	_ = b.Stats()
	var f fleet.Fleet
	if f.Cooldowns() != nil || f.Breakers() != nil || f.Quota() != nil || f.SharedQuota() != nil {
		t.Error("zero Fleet returned a store")
	}
}

// NewNonceStore takes a signer.NonceStore as Local: a zero one (not made
// by its constructor) is refused there too, rather than quietly failing
// every fallback claim and never remembering the replica's own nonces.
func TestNonceStoreZeroLocalRefused(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer rdb.Close()
	for _, local := range []signer.NonceStore{new(signer.MemoryNonceStore), new(fleet.NonceStore)} {
		_, err := fleet.NewNonceStore(rdb, fleet.NonceOptions{Policy: fleet.FallBackLocal, Local: local})
		wantZeroConfigErr(t, "NewNonceStore", err, "Local", "not made by New")
	}
}

// customFleet is a client.Fleet written by the caller, returning whatever
// stores it was given.
type customFleet struct {
	cool  transport.CooldownStore
	br    transport.BreakerStore
	quota transport.SharedQuota
}

func (f customFleet) CooldownStore() transport.CooldownStore { return f.cool }
func (f customFleet) BreakerStore() transport.BreakerStore   { return f.br }
func (f customFleet) SharedQuota() transport.SharedQuota     { return f.quota }

// A custom client.Fleet that returns zero fleet stores was refused with a
// *ConfigError naming WithResilience and the layer's field
// (RetryConfig.Cooldowns, BreakerConfig.Store, ThrottleConfig.Quota):
// options the caller never used. It names WithFleet.
func TestCustomFleetZeroStoresNameWithFleet(t *testing.T) {
	origins := client.WithOrigins("https://api.example")
	for _, tc := range []struct {
		f      customFleet
		reason string
	}{
		{customFleet{cool: new(fleet.CooldownStore)}, "not made by NewCooldownStore"},
		{customFleet{br: new(fleet.BreakerStore)}, "not made by NewBreakerStore"},
		{customFleet{quota: new(fleet.Quota)}, "not made by NewQuota"},
	} {
		_, err := client.New(origins, client.WithFleet(tc.f))
		var ce *fleet.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithFleet" || !strings.Contains(ce.Error(), tc.reason) {
			t.Errorf("%+v: %v, want a *ConfigError naming WithFleet for %q", tc.f, err, tc.reason)
		}
	}
}
