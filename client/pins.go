package client

import (
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/securecall/securecall/internal/hostname"
	"github.com/securecall/securecall/transport"
)

// pinProbeLabel is the label pinHostsErr puts below a wildcard pin's
// domain to ask the egress policy whether any name there may be called.
const pinProbeLabel = "securecall-pin-probe"

// pinHostsErr refuses a pin set whose host matches no host the client may
// open a TLS connection to: its pins would never be checked, so a typo
// ("api.exmaple.com") would silently leave the real host unpinned. The
// hosts the client may reach over https are its https origins and
// redirect origins, the names the egress allowlist (policy) allows over
// https, at any of its ports, the OAuth2 token endpoint when token
// requests use the base transport, TLSConfig.ServerName, and, with a
// proxy, the proxies of WithAllowedProxies (the handshake with an
// https:// proxy is made with the client's pins). Without an
// allowlist (no origins, no WithEgressAllowlist: any https host) every
// pin may apply. The sets were validated by transport.NewBase.
//
// With TLSConfig.ServerName set, every handshake of the client sends that
// name and is verified for it, and the pins are matched against it alone
// (an IP address, which is sent as no name, against the IPs of the
// server's certificate): a set that cannot apply to it is refused too,
// with or without an allowlist.
func (cfg *config) pinHostsErr(policy *transport.EgressPolicy, anyHost bool) error {
	if len(cfg.pins) == 0 {
		return nil
	}
	if cfg.tlsConfig != nil && cfg.tlsConfig.ServerName != "" {
		return cfg.pinServerNameErr(cfg.tlsConfig.ServerName)
	}
	if anyHost {
		return nil
	}
	names := cfg.tlsHosts()
	_, ports, _ := policy.DialAllowances()
	ports = append(ports, 443)
	allows := func(host string) bool {
		for _, p := range ports {
			if policy.Allows(&url.URL{Scheme: "https", Host: net.JoinHostPort(host, strconv.Itoa(int(p)))}) {
				return true
			}
		}
		return false
	}
	for i, s := range cfg.pins {
		h := canonicalHost(s.Host)
		ok := false
		if d, wild := strings.CutPrefix(h, "*."); wild {
			// The pins apply to the names exactly one label below d.
			ok = slices.ContainsFunc(names, func(n string) bool {
				_, parent, found := strings.Cut(n, ".")
				return found && parent == d
			}) || allows(pinProbeLabel+"."+d)
		} else {
			ok = slices.Contains(names, h) || allows(h)
		}
		if !ok {
			return &ConfigError{Option: "WithPins", Err: &ConfigError{
				Option: "Pins[" + strconv.Itoa(i) + "].Host",
				Reason: "host " + strconv.Quote(h) + " matches no host the client may connect to over https (its https origins and redirect origins, the egress allowlist, the OAuth2 token endpoint, TLSConfig.ServerName, WithAllowedProxies): its pins would never be checked",
			}}
		}
	}
	return nil
}

// pinServerNameErr refuses a pin set that cannot apply to a connection
// whose TLS server name is serverName (TLSConfig.ServerName, which
// net/http keeps for every handshake, an https:// proxy's included), as
// transport.Base looks the set up: a server name that is an IP address
// is sent as none, and then only IP sets apply (those the server's
// certificate is valid for); else the set for that name, an exact one
// taking precedence over a wildcard covering it.
func (cfg *config) pinServerNameErr(serverName string) error {
	sni := canonicalHost(strings.TrimSuffix(strings.TrimPrefix(serverName, "["), "]"))
	if i := strings.LastIndexByte(sni, '%'); i > 0 {
		sni = sni[:i]
	}
	_, ipName := netip.ParseAddr(sni)
	applies := -1 // the set for a named sni
	if ipName != nil {
		_, parent, _ := strings.Cut(sni, ".")
		for i, s := range cfg.pins {
			switch h := canonicalHost(s.Host); {
			case h == sni:
				applies = i
			case applies < 0 && parent != "" && h == "*."+parent:
				applies = i
			}
		}
	}
	for i, s := range cfg.pins {
		_, hostErr := netip.ParseAddr(canonicalHost(s.Host))
		if ipName == nil && hostErr == nil || ipName != nil && i == applies {
			continue
		}
		return &ConfigError{Option: "WithPins", Err: &ConfigError{
			Option: "Pins[" + strconv.Itoa(i) + "].Host",
			Reason: "host " + strconv.Quote(canonicalHost(s.Host)) + " is never checked: TLSConfig.ServerName " +
				strconv.Quote(serverName) + " is the server name of every TLS connection of the client, and pins are matched against it",
		}}
	}
	return nil
}

// tlsHosts returns the hosts, in canonicalHost form, that the client
// names exactly and may reach over https: see pinHostsErr.
func (cfg *config) tlsHosts() []string {
	var names []string
	for _, o := range append(slices.Clip(cfg.origins), cfg.redirectOrigins...) {
		if o.Scheme == "https" {
			names = append(names, canonicalHost(o.Host))
		}
	}
	for _, e := range cfg.eg.allow {
		// Exact entries, which a wildcard pin may cover; a wildcard entry
		// does not parse as an origin and is asked of the policy instead.
		e = strings.TrimSpace(e)
		if scheme, _, ok := strings.Cut(e, "://"); ok {
			if !strings.EqualFold(scheme, "https") {
				continue
			}
		} else {
			e = "https://" + e
		}
		if o, err := transport.ParseOrigin(strings.TrimSuffix(e, ":*")); err == nil {
			names = append(names, canonicalHost(o.Host))
		}
	}
	if cfg.oauth2 != nil && cfg.oauth2.HTTPClient == nil {
		if u, err := url.Parse(cfg.oauth2.TokenURL); err == nil && strings.EqualFold(u.Scheme, "https") {
			names = append(names, canonicalHost(transport.OriginOf(u).Host))
		}
	}
	if cfg.tlsConfig != nil && cfg.tlsConfig.ServerName != "" {
		names = append(names, canonicalHost(cfg.tlsConfig.ServerName))
	}
	if cfg.proxy != nil {
		// The base transport makes the TLS handshake with an https://
		// proxy from its own configuration, pins included: a proxy the
		// dialer may connect to is a host whose pins are checked.
		for _, hp := range cfg.eg.proxies {
			if h, _, err := net.SplitHostPort(strings.TrimSpace(hp)); err == nil && h != "" {
				names = append(names, canonicalHost(h))
			}
		}
	}
	return names
}

// canonicalHost is h as a pin set's Host is matched: an IP address in its
// canonical (unmapped) form, a name in lower case without a trailing dot,
// an internationalised name (after a wildcard's "*.") in its punycode form,
// as transport.NewBase pins it and net/http dials it.
func canonicalHost(h string) string {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().String()
	}
	h = strings.TrimSuffix(h, ".")
	wild, name := "", h
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		wild, name = "*.", rest
	}
	if a, err := hostname.ToASCII(name); err == nil {
		name = a
	}
	return wild + strings.ToLower(name)
}
