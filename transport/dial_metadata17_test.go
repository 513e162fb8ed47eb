package transport_test

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"testing"

	"code.dny.dev/ssrf"

	"github.com/securecall/securecall/transport"
)

func prefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

// TestSafeDialerMetadataNotOpenedByBroadAllow: allows are checked before
// denies, so a broad AllowPrefixes entry (the VPC's fd00::/8, a CGNAT pod
// network 100.64.0.0/10, link-local 169.254.0.0/16) opened the cloud
// metadata and instance-credential endpoints inside it. They stay denied
// unless an entry names exactly that address; the addresses next to them
// stay allowed by the broad entry.
func TestSafeDialerMetadataNotOpenedByBroadAllow(t *testing.T) {
	for _, tc := range []struct {
		allow   []string
		denied  []string
		allowed []string
	}{
		{
			allow:   []string{"fd00::/8"},
			denied:  []string{"[fd00:ec2::254]:80", "[fd00:ec2::23]:80"},
			allowed: []string{"[fd00:ec2::253]:80", "[fd00:ec2::255]:80", "[fd00:ec2::22]:80", "[fd12::1]:443"},
		},
		{
			allow:   []string{"fc00::/7"},
			denied:  []string{"[fd00:ec2::254]:80", "[fd00:ec2::23]:443"},
			allowed: []string{"[fd00:ec2::1]:80", "[fc00::254]:80"},
		},
		{
			allow:   []string{"100.64.0.0/10"},
			denied:  []string{"100.100.100.200:80", "[::ffff:100.100.100.200]:80"},
			allowed: []string{"100.100.100.199:80", "100.100.100.201:80", "100.64.0.1:443"},
		},
		{
			allow:   []string{"168.63.0.0/16"},
			denied:  []string{"168.63.129.16:80"},
			allowed: []string{"168.63.129.15:80", "168.63.129.17:80"},
		},
		{
			allow:   []string{"169.254.0.0/16"},
			denied:  []string{"169.254.169.254:80", "169.254.170.2:80", "169.254.170.23:80", "[::ffff:169.254.169.254]:80"},
			allowed: []string{"169.254.169.253:80", "169.254.169.255:80", "169.254.169.123:80", "169.254.170.3:80", "169.254.1.1:443"},
		},
		{
			allow: []string{"0.0.0.0/0", "::/0"},
			denied: []string{
				"169.254.169.254:80", "169.254.170.2:80", "169.254.170.23:80",
				"[fd00:ec2::254]:80", "[fd00:ec2::23]:80", "100.100.100.200:80", "168.63.129.16:80",
			},
			allowed: []string{"10.0.0.1:80", "127.0.0.1:443", "[::1]:443", "[fd00:ec2::1]:80"},
		},
		{
			// NAT64: the embedded IPv4 address is checked with the IPv4
			// rules, the metadata exception included.
			allow:   []string{"64:ff9b::/96", "169.254.0.0/16"},
			denied:  []string{"[64:ff9b::a9fe:a9fe]:80", "[64:ff9b::169.254.170.2]:80"},
			allowed: []string{"[64:ff9b::a9fe:a9fd]:80", "[64:ff9b::8.8.8.8]:443"},
		},
		{
			// An exact entry is the opt-in, for that address alone.
			allow:   []string{"169.254.0.0/16", "169.254.169.254/32"},
			denied:  []string{"169.254.170.2:80", "169.254.170.23:80"},
			allowed: []string{"169.254.169.254:80", "[::ffff:169.254.169.254]:80", "169.254.1.1:80"},
		},
		{
			allow:   []string{"169.254.169.254/32"},
			allowed: []string{"169.254.169.254:80"},
			denied:  []string{"169.254.169.253:80", "169.254.170.2:80"},
		},
		{
			allow:   []string{"fd00::/8", "fd00:ec2::254/128"},
			denied:  []string{"[fd00:ec2::23]:80"},
			allowed: []string{"[fd00:ec2::254]:80"},
		},
		{
			allow:   []string{"100.64.0.0/10", "100.100.100.200/32", "168.63.129.16/32", "64:ff9b::/96"},
			allowed: []string{"100.100.100.200:80", "168.63.129.16:80", "[64:ff9b::100.100.100.200]:80"},
		},
	} {
		sd := safeDialer(t, transport.DialConfig{AllowPrefixes: prefixes(tc.allow...)})
		for _, s := range tc.denied {
			err := sd.Check(netip.MustParseAddrPort(s))
			var ae *transport.AddressError
			if !errors.Is(err, transport.ErrEgressDenied) || !errors.Is(err, ssrf.ErrProhibitedIP) || !errors.As(err, &ae) {
				t.Errorf("allow %v: Check(%s) = %v, want an *AddressError (ErrEgressDenied, ssrf.ErrProhibitedIP)", tc.allow, s, err)
			}
		}
		for _, s := range tc.allowed {
			if err := sd.Check(netip.MustParseAddrPort(s)); err != nil {
				t.Errorf("allow %v: Check(%s) = %v, want allowed", tc.allow, s, err)
			}
		}
	}
}

// TestSafeDialerMetadataDialDenied: the dial-time check refuses the
// metadata address a broad allow covers before any packet is sent, for an
// IPv4-mapped destination too (Go dials it over IPv4), and GuardProxy
// refuses it before handing it to a proxy.
func TestSafeDialerMetadataDialDenied(t *testing.T) {
	sd := safeDialer(t, transport.DialConfig{AllowPrefixes: prefixes("169.254.0.0/16", "fd00::/8", "100.64.0.0/10")})
	for _, addr := range []string{"169.254.169.254:80", "[::ffff:169.254.169.254]:80", "[fd00:ec2::254]:80", "100.100.100.200:80", "169.254.170.2:80"} {
		c, err := sd.DialContext(context.Background(), "tcp", addr)
		if c != nil {
			c.Close()
		}
		var ae *transport.AddressError
		if !errors.As(err, &ae) || !errors.Is(err, transport.ErrEgressDenied) || !errors.Is(err, ssrf.ErrProhibitedIP) {
			t.Errorf("DialContext(%s) = %v, want an *AddressError (ssrf.ErrProhibitedIP)", addr, err)
		}
	}
	proxy := sd.GuardProxy(http.ProxyURL(&url.URL{Scheme: "http", Host: "proxy.example.test:3128"}))
	for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://2852039166/", "http://[fd00:ec2::254]/", "http://100.100.100.200/"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if pu, err := proxy(req); !errors.Is(err, transport.ErrEgressDenied) {
			t.Errorf("GuardProxy(%s) = %v, %v, want ErrEgressDenied", u, pu, err)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, "http://169.254.169.253/", nil)
	if _, err := proxy(req); err != nil {
		t.Errorf("GuardProxy(169.254.169.253) = %v, want the proxy", err)
	}
}
