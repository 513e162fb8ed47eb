package client_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// An Option is a value a service builds once and hands to every New (a
// package-level []client.Option, clients built by parallel tests or per
// tenant). WithAPIKey("", src) wrote the default header name into the
// variable its option shares with every New it is given to: two clients
// built at once from it raced (the race detector fails this test).
func TestAPIKeyOptionSharedByConcurrentNew(t *testing.T) {
	src := tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
		return tokens.NewToken("k", "", time.Time{}), nil
	})
	shared := []client.Option{client.WithOrigins("https://a.test"), client.WithAPIKey("", src)}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			c, err := client.New(shared...)
			if err == nil {
				c.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("New #%d: %v", i, err)
		}
	}
}

// WithResilience's throttle limits (Throttle.Hosts, Throttle.Limit) and
// shared quota (Throttle.Quota), and its shared breaker state
// (Breaker.Store), are applied by layers that WithoutThrottle and
// WithoutBreaker leave out: New accepted the combination and the client
// silently limited nothing (here a second call reached the server that the
// limit refuses), while WithRateLimits, WithSharedQuota and
// WithBreakerStore with the layer off are a *ConfigError. Refused too,
// naming WithResilience and what turned the layer off.
func TestResilienceLayerSettingsConflictWithLayerOff(t *testing.T) {
	srv := newRecordingServer(t, true, nil)
	limited := transport.StandardPreset()
	limited.Throttle.Hosts = []transport.HostLimit{{Pattern: "*", Rate: 0.001, Burst: 1}}
	calls := func(more ...client.Option) (sent int, newErr error) {
		t.Helper()
		before := len(srv.requests())
		c, err := client.New(opts(loopback(), append([]client.Option{client.WithOrigins(srv.URL), client.WithMaxAttempts(1)}, more...)...)...)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		for range 2 {
			if _, err := get(c, srv.URL+"/x"); err != nil && !errors.Is(err, client.ErrRateLimited) {
				t.Fatalf("call: %v", err)
			}
		}
		return len(srv.requests()) - before, nil
	}
	// The limit does limit: one call in two reaches the server.
	if sent, err := calls(client.WithResilience(limited)); err != nil || sent != 1 {
		t.Fatalf("with the throttle: %d calls sent, err %v; want 1", sent, err)
	}
	if sent, err := calls(client.WithResilience(limited), client.WithoutThrottle()); err == nil {
		t.Errorf("WithResilience(Throttle.Hosts) + WithoutThrottle: New succeeded and %d of 2 calls were sent past the limit; want a ConfigError", sent)
	}

	withLimit := transport.StandardPreset()
	withLimit.Throttle.Limit = transport.HostLimit{Rate: 1, Burst: 1}
	withQuota := transport.StandardPreset()
	withQuota.Throttle.Quota = &memQuota{}
	withStore := transport.StandardPreset()
	withStore.Breaker.Store = &memBreakers{}
	selfOff := limited
	selfOff.DisableThrottle = true
	storeOff := withStore
	storeOff.DisableBreaker = true
	cases := []struct {
		opts   []client.Option
		reason []string
	}{
		{[]client.Option{client.WithoutThrottle(), client.WithResilience(limited)}, []string{"Throttle.Hosts", "WithoutThrottle"}},
		{[]client.Option{client.WithResilience(withLimit), client.WithoutThrottle()}, []string{"Throttle.Limit", "WithoutThrottle"}},
		{[]client.Option{client.WithResilience(withQuota), client.WithoutThrottle()}, []string{"Throttle.Quota", "WithoutThrottle"}},
		{[]client.Option{client.WithResilience(withStore), client.WithoutBreaker()}, []string{"Breaker.Store", "WithoutBreaker"}},
		{[]client.Option{client.WithResilience(selfOff)}, []string{"Throttle.Hosts", "DisableThrottle"}},
		{[]client.Option{client.WithResilience(storeOff)}, []string{"Breaker.Store", "DisableBreaker"}},
	}
	for i, tc := range cases {
		c, err := client.New(tc.opts...)
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithResilience" {
			if c != nil {
				c.Close()
			}
			t.Errorf("case %d: err = %v, want a ConfigError naming WithResilience", i, err)
			continue
		}
		for _, r := range tc.reason {
			if !strings.Contains(ce.Error(), r) {
				t.Errorf("case %d: %q does not say %q", i, ce.Error(), r)
			}
		}
	}

	// A preset turned off keeps working: it sets none of these.
	for _, o := range []client.Option{client.WithoutThrottle(), client.WithoutBreaker()} {
		c, err := client.New(client.WithResilience(transport.StandardPreset()), o)
		if err != nil {
			t.Fatalf("a preset with a layer off: %v", err)
		}
		c.Close()
	}
}

// The throttle applies the first HostLimit whose Pattern matches. A limit
// after one that matches every host it would (WithResilience's
// Throttle.Hosts come first, WithRateLimits' after them; "*" or
// "*.example.com" before "api.example.com") is never applied: New accepted
// it, and every call went past the limit the caller set for its API. It is
// a *ConfigError naming the option that gave the dead limit and the one
// that comes first, as a pattern that can never match is.
func TestRateLimitShadowedByEarlierPatternRefused(t *testing.T) {
	srv := newRecordingServer(t, true, nil)
	u, _ := url.Parse(srv.URL)
	catchAll := transport.StandardPreset()
	catchAll.Throttle.Hosts = []transport.HostLimit{{Pattern: "*", Rate: 1000}}
	mine := transport.HostLimit{Pattern: u.Host, Rate: 0.001, Burst: 1}

	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), client.WithMaxAttempts(1),
		client.WithResilience(catchAll), client.WithRateLimits(mine))...)
	if err == nil {
		defer c.Close()
		for range 2 {
			if _, err := get(c, srv.URL+"/x"); err != nil && !errors.Is(err, client.ErrRateLimited) {
				t.Fatal(err)
			}
		}
		t.Fatalf("New accepted a limit of 1 call per 1000 s for %s after WithResilience's \"*\", and %d of 2 calls reached the server; want a ConfigError", u.Host, len(srv.requests()))
	}
	var ce *client.ConfigError
	if !errors.As(err, &ce) || ce.Option != "WithRateLimits" || !strings.Contains(ce.Error(), `"*"`) {
		t.Fatalf("err = %v, want a ConfigError naming WithRateLimits and the \"*\" before it", err)
	}

	for _, hosts := range [][]transport.HostLimit{
		{{Pattern: "*.example.com", Rate: 10}, {Pattern: "api.example.com", Rate: 1}},
		{{Pattern: "*.example.com:8443", Rate: 10}, {Pattern: "*.api.example.com:8443", Rate: 1}},
		{{Pattern: "api.example.com", Rate: 10}, {Pattern: "API.example.com.", Rate: 1}},
		{{Pattern: "*", MaxConcurrent: 4}, {Pattern: "*", Rate: 1}},
	} {
		wantConfigError(t, "WithRateLimits", client.WithRateLimits(hosts...))
	}
	// A specific limit before a broader one is what first-match is for.
	for _, hosts := range [][]transport.HostLimit{
		{{Pattern: "api.example.com", Rate: 1}, {Pattern: "*.example.com", Rate: 10}, {Pattern: "*", Rate: 100}},
		{{Pattern: "*.api.example.com", Rate: 1}, {Pattern: "*.example.com", Rate: 10}},
		{{Pattern: "*.example.com", Rate: 1}, {Pattern: "api.example.com:8443", Rate: 10}, {Pattern: "example.com", Rate: 10}},
	} {
		c, err := client.New(client.WithRateLimits(hosts...))
		if err != nil {
			t.Fatalf("%v: %v", hosts, err)
		}
		c.Close()
	}
}
