package transport_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
)

// A host pattern written with a scheme's default port ("api.example.com:443")
// never matches: HostKey drops the default port, so https://api.example.com
// keys as "api.example.com". Such a pattern would leave the configured limit
// silently unapplied; it is refused, as is a non-ASCII name (HostKey holds
// an internationalised name in its punycode form).
func TestThrottlePatternDefaultPortRefused(t *testing.T) {
	for _, p := range []string{
		"api.example.com:443", "api.example.com:80", "API.example.com.:443",
		"*.example.com:443", "*.example.com:80", "[2001:db8::1]:443",
		"bücher.example", "*.bücher.example",
	} {
		_, err := transport.NewThrottle(nil, transport.ThrottleConfig{
			Hosts: []transport.HostLimit{{Pattern: "ok.example.com"}, {Pattern: p, Rate: 1}},
		})
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != "ThrottleConfig.Hosts[1].Pattern" {
			t.Errorf("Pattern %q: err %v, want a ConfigError for ThrottleConfig.Hosts[1].Pattern", p, err)
			continue
		}
		if !strings.Contains(ce.Reason, "default port") && !strings.Contains(ce.Reason, "punycode") {
			t.Errorf("Pattern %q: reason %q does not explain", p, ce.Reason)
		}
	}
	// Other ports, IPv6 literals without a port, and the forms that match
	// stay valid.
	for _, p := range []string{
		"api.example.com:8443", "*.example.com:8443", "[2001:db8::1]", "[2001:db8::1]:8443",
		"xn--bcher-kva.example", "*", "api.example.com.",
	} {
		if _, err := transport.NewThrottle(nil, transport.ThrottleConfig{
			Hosts: []transport.HostLimit{{Pattern: p, Rate: 1}},
		}); err != nil {
			t.Errorf("Pattern %q: %v", p, err)
		}
	}
}

// The port is part of the match: "*.example.com" matches the names below
// example.com on the scheme's default port, "*.example.com:8443" those on
// port 8443.
func TestMatchHostPatternPorts(t *testing.T) {
	for _, tc := range []struct {
		pattern, host string
		want          bool
	}{
		{"*.example.com", "api.example.com", true},
		{"*.example.com", "api.example.com:8443", false},
		{"*.example.com:8443", "api.example.com:8443", true},
		{"*.example.com:8443", "api.example.com", false},
		{"api.example.com", "api.example.com:8443", false},
		{"*", "api.example.com:8443", true},
	} {
		if got := transport.MatchHostPattern(tc.pattern, tc.host); got != tc.want {
			t.Errorf("MatchHostPattern(%q, %q) = %v, want %v", tc.pattern, tc.host, got, tc.want)
		}
	}
}

// Evicting a host whose token bucket is partly drained must not hand it a
// fresh, full bucket: a caller that pushes more than MaxHosts other hosts
// through (a webhook sender calling user-supplied URLs) would otherwise
// reset the bucket of a host it also calls and exceed the configured rate.
func TestThrottleEvictionKeepsDrainedBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sent atomic.Int64
		next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Host == "victim.example.test" {
				sent.Add(1)
			}
			return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
		})
		rt := newThrottle(t, next, transport.ThrottleConfig{
			Hosts:    []transport.HostLimit{{Pattern: "victim.example.test", Rate: 0.1, Burst: 2}},
			MaxWait:  time.Millisecond,
			MaxHosts: 8,
		})
		victim := "https://victim.example.test/hook"
		for range 2 { // the burst
			if _, err := resSend(t, t.Context(), rt, victim); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(2 * time.Second) // the victim is the least recently used; its bucket is still short
		for i := range 32 {
			if _, err := resSend(t, t.Context(), rt, fmt.Sprintf("https://h%d.example.test/", i)); err != nil {
				t.Fatal(err)
			}
		}
		_, err := resSend(t, t.Context(), rt, victim)
		if !errors.Is(err, transport.ErrRateLimited) {
			t.Errorf("third request to the drained host: err %v, want ErrRateLimited", err)
		}
		if n := sent.Load(); n != 2 {
			t.Errorf("%d requests sent to the host within its burst of 2 at 0.1/s", n)
		}
	})
}
