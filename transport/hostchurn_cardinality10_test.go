package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
)

type churnRT func(*http.Request) (*http.Response, error)

func (f churnRT) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func churnGet(t *testing.T, ctx context.Context, rt http.RoundTripper, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	return resp, err
}

// A server's cooldown (429 + Retry-After) on one host must survive a
// caller pushing many other hosts through the retry layer (a webhook
// sender, a multi-tenant service, a crawler: hosts an attacker may
// choose): forgetting it would send to the host again at once.
func TestRetryCooldownSurvivesHostChurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var targetCalls atomic.Int64
		next := churnRT(func(req *http.Request) (*http.Response, error) {
			if req.URL.Host == "target.example" {
				targetCalls.Add(1)
				return &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"3600"}}, Body: http.NoBody, Request: req}, nil
			}
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		})
		const maxHosts = 8
		rt := newRetry(t, next, transport.RetryConfig{MaxHosts: maxHosts, MaxRetryAfter: 2 * time.Hour})
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if _, err := churnGet(t, ctx, rt, "https://target.example/x"); err == nil {
			t.Fatal("first call to the target: no error, want the server wait past the deadline")
		}
		for i := range 4 * maxHosts {
			time.Sleep(2 * time.Second) // each churn host used later than the target
			if _, err := churnGet(t, t.Context(), rt, fmt.Sprintf("https://tenant-%d.example/x", i)); err != nil {
				t.Fatal(err)
			}
		}
		ctx2, cancel2 := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel2()
		_, err := churnGet(t, ctx2, rt, "https://target.example/x")
		if !errors.Is(err, transport.ErrRateLimited) {
			t.Errorf("after %d other hosts: err %v, want the cooldown's ErrRateLimited", 4*maxHosts, err)
		}
		if n := targetCalls.Load(); n != 1 {
			t.Errorf("target reached %d times, want 1 (its cooldown forgotten under host churn)", n)
		}
	})
}

// The in-memory CooldownStore keeps a host's cooldown in force over idle
// hosts the same way.
func TestCooldownsStoreKeepsCooldownUnderHostChurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := transport.NewCooldowns(4)
		until := time.Now().Add(time.Hour)
		c.SetCooldown("target.example", until)
		for i := range 16 {
			time.Sleep(2 * time.Second)
			c.SetCooldown(fmt.Sprintf("tenant-%d.example", i), time.Now().Add(-time.Second)) // ended at once
		}
		if got := c.CooldownUntil("target.example"); got.IsZero() {
			t.Errorf("target's cooldown forgotten after 16 other hosts (MaxHosts 4)")
		}
	})
}

// A host's retry budget, spent, must survive host churn: a fresh budget
// would allow its floor of retries again.
func TestRetryBudgetSurvivesHostChurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var targetCalls atomic.Int64
		next := churnRT(func(req *http.Request) (*http.Response, error) {
			if req.URL.Host == "target.example" {
				targetCalls.Add(1)
				return &http.Response{StatusCode: 503, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
			}
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		})
		const maxHosts = 8
		rt := newRetry(t, next, transport.RetryConfig{
			MaxHosts: maxHosts, MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond,
			Budget: transport.BudgetConfig{Ratio: 0.0001, MinRetries: 3, Window: time.Minute},
		})
		churnGet(t, t.Context(), rt, "https://target.example/x") // 1 call + 3 retries: budget spent
		if n := targetCalls.Load(); n != 4 {
			t.Fatalf("first call: %d attempts, want 4", n)
		}
		for i := range 4 * maxHosts {
			time.Sleep(100 * time.Millisecond)
			if _, err := churnGet(t, t.Context(), rt, fmt.Sprintf("https://tenant-%d.example/x", i)); err != nil {
				t.Fatal(err)
			}
		}
		churnGet(t, t.Context(), rt, "https://target.example/x")
		if n := targetCalls.Load(); n != 5 {
			t.Errorf("target reached %d times in all, want 5 (one more call, no retry: the budget is spent within its window)", n)
		}
	})
}

// HostKey names the per-host state of the resilience layers (kept for up
// to MaxHosts hosts each), their metric attributes and shared stores'
// keys. url.Parse bounds neither a host's nor a port's length, and a URL
// may be a user's (webhooks): a host longer than a DNS name, which cannot
// be dialed, must not be kept in full.
func TestHostKeyBounded(t *testing.T) {
	long := strings.Repeat("a", 10000) + ".example"
	for _, raw := range []string{
		"https://" + long + "/x",
		"https://" + long + ":8443/x",
		"https://api.example:" + strings.Repeat("9", 10000) + "/x",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if k := transport.HostKey(u); len(k) > 253+6 {
			t.Errorf("HostKey of a %d-byte host: %d bytes, want at most a DNS name and a port", len(u.Host), len(k))
		}
	}
	// A name of the maximum length is kept as it is.
	max := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
	u, _ := url.Parse("https://" + max + ":8443/x")
	if k := transport.HostKey(u); k != max+":8443" {
		t.Errorf("HostKey of a 253-byte name: %q", k)
	}
}

// Distinct over-long hosts do not each take a breaker of their own.
func TestBreakerLongHostsShareOneState(t *testing.T) {
	var calls atomic.Int64
	next := churnRT(func(req *http.Request) (*http.Response, error) {
		calls.Add(1)
		return nil, errors.New("dial: no such host")
	})
	rt, err := transport.NewBreaker(next, transport.BreakerConfig{ConsecutiveFailures: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		churnGet(t, t.Context(), rt, fmt.Sprintf("https://%s-%d.example/x", strings.Repeat("a", 300), i))
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d sends to 10 distinct hosts longer than a DNS name, want 3 (one breaker, opened)", n)
	}
}
