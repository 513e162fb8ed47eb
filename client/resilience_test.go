package client_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestRetryThroughFullStackSignsEachAttemptAfresh: a POST with an
// Idempotency-Key generated once per call is retried after a 503; the server
// verifies every attempt with a nonce replay store, so a reused nonce would
// be refused; both attempts carry the same Idempotency-Key.
func TestRetryThroughFullStackSignsEachAttemptAfresh(t *testing.T) {
	keys := hmacKeys(t)
	v, err := signer.NewVerifier(signer.VerifierOptions{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var nonces, idemKeys, bodies []string
	srv := newTLSServer(t, v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, _ := signer.ResultFromContext(r.Context())
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		nonces = append(nonces, res.Nonce)
		idemKeys = append(idemKeys, r.Header.Get("Idempotency-Key"))
		bodies = append(bodies, string(b))
		n := len(nonces)
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "created")
	})))
	defer srv.Close()

	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), client.WithHMACSigning(keys), client.WithIdempotencyKeys())...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/orders", strings.NewReader(`{"sku":1}`))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "created" {
		t.Fatalf("got %s %q", resp.Status, body)
	}
	if n := transport.Attempts(resp); n != 2 {
		t.Errorf("Attempts = %d, want 2", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(nonces) != 2 || nonces[0] == nonces[1] || nonces[0] == "" {
		t.Errorf("nonces %q: want two distinct", nonces)
	}
	if idemKeys[0] == "" || idemKeys[0] != idemKeys[1] {
		t.Errorf("Idempotency-Key %q: want one key on both attempts", idemKeys)
	}
	if bodies[0] != `{"sku":1}` || bodies[1] != bodies[0] {
		t.Errorf("bodies %q: want the body replayed intact", bodies)
	}
	if req.Header.Get("Idempotency-Key") != "" {
		t.Error("caller's request was modified")
	}
}

// TestPinMismatchIsNeverRetried: a certificate failure ends the call on
// the first handshake, whatever the retry settings.
func TestPinMismatchIsNeverRetried(t *testing.T) {
	ca, err := testpki.NewCA("root")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Server("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	var conns atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Config.ErrorLog = quietLog()
	srv.StartTLS()
	defer srv.Close()
	p1, _ := testpki.RandomPin()
	p2, _ := testpki.RandomPin()
	c, err := client.New(
		client.WithOrigins(srv.URL),
		client.WithTLSConfig(&tls.Config{RootCAs: testpki.Pool(ca)}),
		client.WithPins(transport.PinSet{Host: "127.0.0.1", Pins: []string{p1, p2}}),
		client.WithMaxAttempts(5),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	_, err = c.Do(req)
	if !errors.Is(err, client.ErrPinMismatch) {
		t.Fatalf("err = %v, want ErrPinMismatch", err)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("server saw %d connections, want 1 (no retry)", n)
	}
}

func TestResilienceOptionsValidation(t *testing.T) {
	cases := []struct {
		opts   []client.Option
		option string
	}{
		{[]client.Option{client.WithPreset("nope")}, "WithPreset"},
		{[]client.Option{client.WithMaxAttempts(0)}, "WithMaxAttempts"},
		{[]client.Option{client.WithTimeout(-time.Second)}, "WithTimeout"},
		{[]client.Option{client.WithAttemptTimeout(-time.Second)}, "WithAttemptTimeout"},
		// A conflict found once the settings are resolved names the
		// option the caller used, not WithResilience, which they did not.
		{[]client.Option{client.WithTimeout(time.Second), client.WithAttemptTimeout(2 * time.Second)}, "WithAttemptTimeout"},
		{[]client.Option{client.WithMaxAttempts(50)}, "WithMaxAttempts"},
		// The preset's retry delays are scaled to a short total
		// (TestShortTimeoutScalesThePresetsRetryWaits), down to 1µs.
		{[]client.Option{client.WithTimeout(time.Microsecond)}, "WithTimeout"},
		{[]client.Option{client.WithRateLimits(transport.HostLimit{Pattern: "api.example.com", Rate: -1})}, "WithRateLimits"},
		{[]client.Option{client.WithRateLimits(transport.HostLimit{Pattern: "a*b"})}, "WithRateLimits"},
		{[]client.Option{client.WithAttemptTimeout(40 * time.Second)}, "WithAttemptTimeout"},
		{[]client.Option{client.WithResilience(transport.ResilienceConfig{TotalTimeout: time.Second, AttemptTimeout: 2 * time.Second})}, "WithResilience"},
		{[]client.Option{client.WithResilience(transport.ResilienceConfig{Throttle: transport.ThrottleConfig{Hosts: []transport.HostLimit{{Pattern: "a*b"}}}}), client.WithRateLimits(transport.HostLimit{Pattern: "ok.example"})}, "WithResilience"},
	}
	for i, tc := range cases {
		_, err := client.New(tc.opts...)
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.option {
			t.Errorf("case %d: err = %v, want a ConfigError naming %s", i, err, tc.option)
		}
	}
	// A preset's breaker widens to a longer attempt (20 s is past half the
	// standard preset's 30 s window): no error over a setting the caller
	// never chose.
	if c, err := client.New(client.WithAttemptTimeout(20 * time.Second)); err != nil {
		t.Errorf("WithAttemptTimeout(20s) with the standard preset: %v", err)
	} else {
		c.Close()
	}
	for _, p := range []string{"standard", "interactive", "batch", "background"} {
		c, err := client.New(client.WithPreset(p))
		if err != nil {
			t.Errorf("preset %s: %v", p, err)
			continue
		}
		c.Close()
	}
}

// TestRetryPolicyPlugsIn: go-retryablehttp's DefaultRetryPolicy and a
// backoff of its type drive the retry layer; a shared cooldown store sees
// the server's Retry-After.
func TestRetryPolicyPlugsIn(t *testing.T) {
	var hits atomic.Int32
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) < 3 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		io.WriteString(w, "ok")
	}))
	var backoffCalls atomic.Int32
	backoff := func(min, max time.Duration, n int, resp *http.Response) time.Duration {
		backoffCalls.Add(1)
		return time.Millisecond
	}
	cooldowns := transport.NewCooldowns(16)
	c, err := client.New(opts(loopback(),
		client.WithOrigins(srv.URL),
		client.WithRetryPolicy(retryablehttp.DefaultRetryPolicy, backoff),
		client.WithCooldownStore(cooldowns),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || transport.Attempts(resp) != 3 || backoffCalls.Load() != 2 {
		t.Fatalf("status %d after %d attempts, %d backoff calls; want 200 after 3 with 2", resp.StatusCode, transport.Attempts(resp), backoffCalls.Load())
	}
	if _, err := client.New(client.WithRetryPolicy(nil, nil)); err == nil {
		t.Error("WithRetryPolicy(nil, nil) accepted")
	}
}

// TestSharedCooldownStore: a 429 with Retry-After seen by one client sets
// the host's cooldown in the shared store, which a second client honours.
func TestSharedCooldownStore(t *testing.T) {
	var hits atomic.Int32
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	store := transport.NewCooldowns(16)
	newClient := func() *client.Client {
		c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), client.WithCooldownStore(store), client.WithTimeout(5*time.Second))...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	a, b := newClient(), newClient()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := a.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d, want the 429 returned (the server's wait exceeds the deadline)", resp.StatusCode)
	}
	u, _ := url.Parse(srv.URL)
	if until := store.CooldownUntil(transport.HostKey(u)); !until.After(time.Now()) {
		t.Fatalf("no cooldown recorded in the shared store")
	}
	req, _ = http.NewRequest(http.MethodGet, srv.URL, nil)
	_, err = b.Do(req)
	if !errors.Is(err, client.ErrRateLimited) {
		t.Fatalf("second client: err = %v, want ErrRateLimited from the shared cooldown", err)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("server got %d requests, want 1", n)
	}
}

// A short WithTimeout keeps a preset's retries: the preset's retry waits,
// which alone could not fit the total (600 ms of them in "standard"), are
// scaled down instead of New failing on a schedule the caller never chose.
// Explicit settings are still checked, not adjusted.
func TestShortTimeoutScalesThePresetsRetryWaits(t *testing.T) {
	for _, p := range []string{"standard", "interactive", "batch", "background"} {
		for _, total := range []time.Duration{50 * time.Millisecond, 500 * time.Millisecond, 2 * time.Second} {
			c, err := client.New(client.WithPreset(p), client.WithTimeout(total))
			if err != nil {
				t.Errorf("preset %s, WithTimeout(%v): %v", p, total, err)
				continue
			}
			c.Close()
		}
	}
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(503, "busy"))
		c, err := client.New(client.WithBaseTransport(next), client.WithTimeout(500*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if n := len(next.Requests()); n != 3 {
			t.Fatalf("%d attempts within 500ms; want the preset's 3", n)
		}
		if spent := time.Since(start); spent > 500*time.Millisecond {
			t.Fatalf("the call took %v, past its 500ms total", spent)
		}
	})
	// With an attempt timeout of the caller's as well: the schedule is
	// measured against that, not the preset's (which is above the total).
	for _, o := range [][]client.Option{
		{client.WithTimeout(500 * time.Millisecond), client.WithAttemptTimeout(100 * time.Millisecond)},
		{client.WithPreset("batch"), client.WithTimeout(5 * time.Second), client.WithAttemptTimeout(time.Second)},
	} {
		c, err := client.New(o...)
		if err != nil {
			t.Errorf("a short WithTimeout with WithAttemptTimeout: %v", err)
			continue
		}
		c.Close()
	}
	_, err := client.New(client.WithTimeout(500*time.Millisecond), client.WithMaxAttempts(40))
	var ce *client.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("40 attempts in 500ms: err = %v; want a ConfigError", err)
	}
}

// Client-side rate limits are applied by the throttle: with the throttle
// off they would silently limit nothing (a caller's contract with an API,
// say), so the combination is refused in either order, as WithSharedQuota
// with WithoutThrottle is.
func TestRateLimitsConflictWithThrottleOff(t *testing.T) {
	limit := transport.HostLimit{Pattern: "api.example.com", Rate: 1, Burst: 1}
	off := transport.StandardPreset()
	off.DisableThrottle = true
	cases := []struct {
		opts   []client.Option
		reason string
	}{
		{[]client.Option{client.WithRateLimits(limit), client.WithoutThrottle()}, "WithoutThrottle"},
		{[]client.Option{client.WithoutThrottle(), client.WithRateLimits(limit)}, "WithoutThrottle"},
		{[]client.Option{client.WithResilience(off), client.WithRateLimits(limit)}, "WithResilience (DisableThrottle)"},
	}
	for i, tc := range cases {
		c, err := client.New(tc.opts...)
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithRateLimits" || !strings.Contains(ce.Error(), tc.reason) {
			if c != nil {
				c.Close()
			}
			t.Errorf("case %d: err = %v, want a ConfigError naming WithRateLimits and %q", i, err, tc.reason)
		}
	}
}

// WithPreset and WithResilience each choose the whole resilience
// configuration: given both, one would be silently ignored (WithPreset,
// whatever the order), so the combination is refused.
func TestPresetConflictsWithResilience(t *testing.T) {
	for i, o := range [][]client.Option{
		{client.WithResilience(transport.StandardPreset()), client.WithPreset("batch")},
		{client.WithPreset("batch"), client.WithResilience(transport.StandardPreset())},
	} {
		c, err := client.New(o...)
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithPreset" || !strings.Contains(ce.Error(), "WithResilience") {
			if c != nil {
				c.Close()
			}
			t.Errorf("case %d: err = %v, want a ConfigError naming WithPreset and WithResilience", i, err)
		}
	}
}
