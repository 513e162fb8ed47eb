package client_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/transport"
)

// proxy gives the options allowing a proxy at hostport.
func proxy(hostport string) []client.Option {
	return []client.Option{client.WithProxy(http.ProxyFromEnvironment), client.WithAllowedProxies(hostport)}
}

// serverName gives the options setting the TLS server name.
func serverName(name string) []client.Option {
	return []client.Option{client.WithTLSConfig(&tls.Config{ServerName: name})}
}

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
		// A TLS server name no certificate is valid for: every handshake
		// fails certificate verification (x509: certificate is valid for
		// localhost, not localhost:443).
		{"server name with a port", serverName("localhost:443"), "WithTLSConfig"},
		{"server name as a URL", serverName("https://localhost"), "WithTLSConfig"},
		{"server name with a path", serverName("localhost/"), "WithTLSConfig"},
		{"server name with a space", serverName("local host"), "WithTLSConfig"},
		{"server name with a control character", serverName("localhost\n"), "WithTLSConfig"},
		{"server name with an empty label", serverName("api..example.com"), "WithTLSConfig"},
		{"base transport server name with a port", []client.Option{client.WithBaseTransport(&http.Transport{
			TLSClientConfig: &tls.Config{ServerName: "localhost:443"}})}, "WithBaseTransport"},
		// Host is sent from Request.Host, never from the Header a
		// redirect hop or the egress check strips or looks at.
		{"sensitive header Host", []client.Option{client.WithSensitiveHeaders("X-Session", "host")}, "WithSensitiveHeaders"},
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
		{"server name", serverName("api.example.com")},
		{"server name in upper case with a trailing dot", serverName("API.Example.com.")},
		{"server name IPv4", serverName("10.0.0.5")},
		{"server name IPv6", serverName("::1")},
		{"server name IPv6 in brackets", serverName("[::1]")},
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

// TestOptionSweepSignerStructuredFields: a StructuredFields entry no
// component can look up (a name not in lower case: components hold the
// field name lower-cased, so "X-List" is never found; a name that is no
// field name) or of a FieldType that is none of SFItem, SFList,
// SFDictionary (read as a Dictionary, silently) is a *ConfigError naming
// the field, in signer.New and signer.NewVerifier alike.
func TestOptionSweepSignerStructuredFields(t *testing.T) {
	key, err := signer.NewHMACKey("k1", []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	keys := signer.StaticKey(key)
	comps := []signer.Component{signer.Method, signer.FieldSF("x-list")}
	cases := []struct {
		name  string
		types map[string]signer.FieldType
	}{
		{"name not in lower case", map[string]signer.FieldType{"X-List": signer.SFList}},
		{"name that is no field name", map[string]signer.FieldType{"x list": signer.SFList, "x-list": signer.SFList}},
		{"empty name", map[string]signer.FieldType{"": signer.SFList, "x-list": signer.SFList}},
		{"zero type", map[string]signer.FieldType{"x-list": 0}},
		{"unknown type", map[string]signer.FieldType{"x-list": 99}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := signer.New(signer.Options{Keys: keys, Components: comps, StructuredFields: tc.types})
			if ce, ok := errors.AsType[*signer.ConfigError](err); !ok || ce.Option != "Options.StructuredFields" {
				t.Errorf("New: %v, want a *ConfigError naming Options.StructuredFields", err)
			}
			_, err = signer.NewVerifier(signer.VerifierOptions{Keys: keys, Required: comps, StructuredFields: tc.types})
			if ce, ok := errors.AsType[*signer.ConfigError](err); !ok || ce.Option != "VerifierOptions.StructuredFields" {
				t.Errorf("NewVerifier: %v, want a *ConfigError naming VerifierOptions.StructuredFields", err)
			}
		})
	}
	types := map[string]signer.FieldType{"x-list": signer.SFList, "x-item": signer.SFItem, "x-dict": signer.SFDictionary}
	if _, err := signer.New(signer.Options{Keys: keys, Components: comps, StructuredFields: types}); err != nil {
		t.Errorf("New with valid StructuredFields: %v", err)
	}
	if _, err := signer.NewVerifier(signer.VerifierOptions{Keys: keys, Required: comps, StructuredFields: types}); err != nil {
		t.Errorf("NewVerifier with valid StructuredFields: %v", err)
	}
}

// TestOptionSweepVerifierKeyIDs: a VerifierOptions.KeyIDs entry that is no
// key id (empty, as strings.Split of an unset variable gives, not
// printable ASCII, longer than MaxKeyIDLength) matches no key: with it
// alone every request is refused. It is a *ConfigError naming KeyIDs[i].
func TestOptionSweepVerifierKeyIDs(t *testing.T) {
	key, err := signer.NewHMACKey("k1", []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	keys := signer.StaticKey(key)
	for _, tc := range []struct {
		name   string
		ids    []string
		option string
	}{
		{"empty", []string{""}, "VerifierOptions.KeyIDs[0]"},
		{"empty after a valid one", []string{"k1", ""}, "VerifierOptions.KeyIDs[1]"},
		{"control character", []string{"k1\n"}, "VerifierOptions.KeyIDs[0]"},
		{"non-ASCII", []string{"ключ"}, "VerifierOptions.KeyIDs[0]"},
		{"too long", []string{strings.Repeat("k", signer.MaxKeyIDLength+1)}, "VerifierOptions.KeyIDs[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := signer.NewVerifier(signer.VerifierOptions{Keys: keys, KeyIDs: tc.ids})
			if ce, ok := errors.AsType[*signer.ConfigError](err); !ok || ce.Option != tc.option {
				t.Errorf("NewVerifier: %v, want a *ConfigError naming %s", err, tc.option)
			}
		})
	}
	if _, err := signer.NewVerifier(signer.VerifierOptions{Keys: keys, KeyIDs: []string{"k1", "k2 old", "k1"}}); err != nil {
		t.Errorf("NewVerifier with valid KeyIDs: %v", err)
	}
}
