package client_test

import (
	"errors"
	"net/http"
	"strings"
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
	proxy := func(hostport string) []client.Option {
		return []client.Option{client.WithProxy(http.ProxyFromEnvironment), client.WithAllowedProxies(hostport)}
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
		// An allowed proxy the dialer can never be asked to dial: the
		// proxy URL's host has no such characters, and the dialer is
		// given its host without userinfo.
		{"allowed proxy with a space", proxy("proxy internal:3128"), "WithAllowedProxies"},
		{"allowed proxy with a control character", proxy("proxy\x00.internal:3128"), "WithAllowedProxies"},
		{"allowed proxy with userinfo", proxy("token@proxy.internal:3128"), "WithAllowedProxies"},
		{"allowed proxy wildcard", proxy("*.internal:3128"), "WithAllowedProxies"},
		{"allowed proxy with a slash", proxy("proxy.internal/x:3128"), "WithAllowedProxies"},
		{"allowed proxy with an empty label", proxy("proxy..internal:3128"), "WithAllowedProxies"},
		{"allowed proxy with a bad IPv6", proxy("[::g]:3128"), "WithAllowedProxies"},
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
			if strings.Contains(err.Error(), "token@") {
				t.Fatalf("New: %v shows the userinfo", err)
			}
		})
	}
}

// TestOptionSweepStillAccepted holds the neighbours of the refused values,
// which must stay accepted.
func TestOptionSweepStillAccepted(t *testing.T) {
	proxy := func(hostport string) []client.Option {
		return []client.Option{client.WithProxy(http.ProxyFromEnvironment), client.WithAllowedProxies(hostport)}
	}
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
		{"allowed proxy name", proxy("proxy.internal:3128")},
		{"allowed proxy name in upper case with a trailing dot", proxy("PROXY.Internal.:3128")},
		{"allowed proxy internationalised name", proxy("prôxy.internal:3128")},
		{"allowed proxy IPv4", proxy("10.0.0.5:3128")},
		{"allowed proxy IPv6", proxy("[fd00::5]:3128")},
		{"allowed proxy IPv6 with a zone", proxy("[fe80::1%eth0]:3128")},
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
