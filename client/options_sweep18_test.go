package client_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// TestOptionSweepRefusedAtNew holds the option values a sweep of every
// option found accepted by New though they cannot work: each must be a
// *ConfigError naming the option that was given.
func TestOptionSweepRefusedAtNew(t *testing.T) {
	limit := func(pattern string) client.Option {
		return client.WithRateLimits(transport.HostLimit{Pattern: pattern, Rate: 10})
	}
	cases := []struct {
		name   string
		opts   []client.Option
		option string
	}{
		// A host pattern HostKey can never hold: no request's host has
		// these characters, so the limit would never apply.
		{"rate limit pattern with a path", []client.Option{limit("api.example.com/v1")}, "WithRateLimits"},
		{"rate limit pattern with a space", []client.Option{limit("api example.com")}, "WithRateLimits"},
		{"rate limit pattern with a control character", []client.Option{limit("api\x00.example.com")}, "WithRateLimits"},
		{"rate limit pattern with a query", []client.Option{limit("api.example.com?x")}, "WithRateLimits"},
		{"rate limit wildcard with a space", []client.Option{limit("*.exa mple.com")}, "WithRateLimits"},
		{"rate limit pattern with a port that is no number", []client.Option{limit("api.example.com:abc")}, "WithRateLimits"},
		{"rate limit pattern with port 0", []client.Option{limit("api.example.com:0")}, "WithRateLimits"},
		{"rate limit pattern with port 65536", []client.Option{limit("api.example.com:65536")}, "WithRateLimits"},
		{"rate limit pattern with an unclosed bracket", []client.Option{limit("[::1")}, "WithRateLimits"},
		{"rate limit pattern with an empty label", []client.Option{limit("api..example.com")}, "WithRateLimits"},
		{"resilience throttle pattern with a path", []client.Option{client.WithResilience(func() transport.ResilienceConfig {
			rc := transport.StandardPreset()
			rc.Throttle.Hosts = []transport.HostLimit{{Pattern: "api.example.com/v1", Rate: 10}}
			return rc
		}())}, "WithResilience"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := client.New(tc.opts...)
			if err == nil {
				c.Close()
				t.Fatal("New accepted it")
			}
			ce, ok := errors.AsType[*client.ConfigError](err)
			if !ok || ce.Option != tc.option {
				t.Fatalf("New: %v, want a *ConfigError naming %s", err, tc.option)
			}
		})
	}
}

// TestOptionSweepStillAccepted holds the neighbours of the refused values,
// which must stay accepted.
func TestOptionSweepStillAccepted(t *testing.T) {
	limit := func(pattern string) client.Option {
		return client.WithRateLimits(transport.HostLimit{Pattern: pattern, Rate: 10})
	}
	cases := []struct {
		name string
		opts []client.Option
	}{
		{"rate limit exact name", []client.Option{limit("api.example.com")}},
		{"rate limit name in upper case", []client.Option{limit("API.Example.COM")}},
		{"rate limit name with a port", []client.Option{limit("api.example.com:8443")}},
		{"rate limit name with an underscore", []client.Option{limit("_svc.example.com")}},
		{"rate limit wildcard with a port", []client.Option{limit("*.example.com:8443")}},
		{"rate limit every host", []client.Option{limit("*")}},
		{"rate limit IPv4", []client.Option{limit("10.0.0.5:8443")}},
		{"rate limit IPv6", []client.Option{limit("[::1]:8443")}},
		{"rate limit IPv6 with a zone", []client.Option{limit("[fe80::1%eth0]:8443")}},
		{"rate limit name with a trailing dot", []client.Option{limit("api.example.com.")}},
		{"allowed proxy name", []client.Option{client.WithProxy(http.ProxyFromEnvironment), client.WithAllowedProxies("proxy.internal:3128")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := client.New(tc.opts...)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			c.Close()
		})
	}
}
