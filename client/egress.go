package client

import (
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/securecall/securecall/transport"
)

// egress collects the egress-guard options.
type egress struct {
	allow        []string
	networks     []netip.Prefix
	proxies      []string
	noSSRF       bool
	maxBody      int64
	mediaTypes   []string
	inventory    *transport.Inventory
	auditLogger  *slog.Logger
	maxBodyIsSet bool
	callLayers   []func(http.RoundTripper) (http.RoundTripper, error)
}

// WithCallLayer adds a per-call layer of your own between the egress check
// and the response limits, so it sees only allowed destinations (what it
// sends, to the URL it was given or another, is checked against the
// allowlist again below it) and reads response bodies behind the size
// limit: the place for OpenAPI validation
// (github.com/securecall/securecall/openapi, kept in its own module so that
// services that don't use it don't download kin-openapi):
//
//	client.WithCallLayer(func(next http.RoundTripper) (http.RoundTripper, error) {
//		return openapi.New(next, openapi.Config{Spec: spec})
//	})
//
// Appends; the first one added is the outermost. wrap must not return nil.
// A layer that panics (a bug in it) has the request's body closed, as
// RoundTrip must on every path (once: not again when the stack below it
// has closed or sent the body; a layer that sends the body through a
// transport of its own, not next, and then panics has it closed by that
// transport and again by the stack, which cannot know), and its panic
// goes on to the caller.
func WithCallLayer(wrap func(next http.RoundTripper) (http.RoundTripper, error)) Option {
	return requireValue("WithCallLayer", wrap, func(c *config, v func(next http.RoundTripper) (http.RoundTripper, error)) {
		c.eg.callLayers = append(c.eg.callLayers, v)
	})
}

// WithEgressAllowlist adds hosts every request and redirect hop may go to
// ("api.example.com", "*.example.com", "https://host:8443", "host:*"; see
// transport.EgressConfig.Allow; an IPv4 address in a legacy form, "127.1",
// is a *ConfigError naming its dotted-decimal form). An entry without a
// scheme means https only,
// even when an http origin is configured; plain http to a host needs an
// "http://" entry, accepted only alongside an http origin of WithOrigins
// (which an http origin of WithRedirectOrigins needs too). Appends. Default: the client's origins and
// redirect origins when any are set (so a client bound to one API can reach
// nothing else), otherwise any https host. A request elsewhere fails with
// ErrEgressDenied before any connection is made.
func WithEgressAllowlist(patterns ...string) Option {
	return optionFunc(func(c *config) { c.eg.allow = append(c.eg.allow, patterns...) })
}

// WithAllowedNetworks lets the SSRF-safe dialer connect to these
// special-purpose address ranges (10.0.0.0/8 for an internal API,
// 127.0.0.0/8 for a loopback test server). Appends. Default: none; the
// addresses of IP-literal origins given to WithOrigins, WithRedirectOrigins
// and WithEgressAllowlist, and of the OAuth2 token endpoint, are allowed
// as exact addresses, since the caller named them (an IPv4-mapped one,
// "[::ffff:10.0.0.5]", also as the IPv4 address Go's dialer connects it
// over), when a request names them as that literal: a name whose DNS
// answers one of them (rebinding) is checked as any name is, and refused
// unless a range given here covers the address (until session 23 it was
// let through). The cloud metadata and
// instance-credential addresses (169.254.169.254, fd00:ec2::254,
// 100.100.100.200 and the others transport.SafeDialer lists) stay denied
// inside a range given here (169.254.0.0/16, fd00::/8, 100.64.0.0/10): a
// prefix naming exactly one (169.254.169.254/32), or an IP-literal origin
// or allowlist entry of it, is the only way to reach it. A range opening
// IPv6 broadly (::/0, 2000::/3) does not open the IPv4 addresses a NAT64,
// 6to4, IPv4-compatible or Teredo address embeds: those are checked with
// the IPv4 rules (2002:a9fe:a9fe:: as 169.254.169.254). An IPv6 address
// with a zone ("https://[fe80::1%25eth0]/", the way a link-local address
// is reached; the egress allowlist matches no zoned URL) is checked as its
// address. A prefix in the IPv4-mapped form ("::ffff:10.0.0.0/104") is a
// *ConfigError naming the IPv4 prefix to write ("10.0.0.0/8"): the dialer
// checks the IPv4 address Go connects such an address over, so it would
// allow nothing.
func WithAllowedNetworks(prefixes ...netip.Prefix) Option {
	return optionFunc(func(c *config) {
		for _, p := range prefixes {
			if !p.IsValid() {
				c.fail("WithAllowedNetworks", "invalid prefix")
				return
			}
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				// Go dials an IPv4-mapped address over IPv4 and the
				// dialer checks that IPv4 address: this prefix would
				// allow nothing.
				v4 := netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked()
				c.fail("WithAllowedNetworks", "%s is written in the IPv4-mapped IPv6 form, which allows no connection (Go dials such an address over IPv4): write %s", p, v4)
				return
			}
		}
		c.eg.networks = append(c.eg.networks, prefixes...)
	})
}

// WithAllowedProxies lists the proxies ("host:port") the SSRF-safe dialer
// may connect to although they sit on private addresses. Needed with
// WithProxy while SSRF protection is on; write each as the proxy URL names
// it (an IPv4 address in a legacy form, "127.1:3128", is a *ConfigError
// naming the form to write, "127.0.0.1:3128", and so is an entry that
// would match no proxy the client dials: one with userinfo, written as
// the proxy URL has it, "user@proxy:3128" (the dialer is given the host
// without it), a wildcard, a character a DNS name cannot have). Without
// WithProxy (or WithEnvironmentProxy) it is a *ConfigError:
// there is no proxy to allow. A request sent directly (the proxy function
// returns no proxy for it) to a listed proxy's address is refused with
// ErrEgressDenied: the exemption is for the proxy, not for a destination.
// Appends.
func WithAllowedProxies(hostports ...string) Option {
	return optionFunc(func(c *config) { c.eg.proxies = append(c.eg.proxies, hostports...) })
}

// WithoutSSRFProtection turns off the dial-time address check. Default: on:
// loopback, private, link-local (cloud metadata included), unique-local,
// multicast and other special-purpose addresses are refused at connect
// time, after DNS resolution, so DNS rebinding cannot slip past. Only ports
// 80, 443 and those of the client's origins and allowlist may be dialed.
// WithAllowedNetworks and WithAllowedProxies only loosen that check, so New
// refuses them together with this option; so is WithBaseTransport, whose
// transport does its own dialing (the SSRF-safe dialer is the hardened
// base's): the option would do nothing.
func WithoutSSRFProtection() Option {
	return optionFunc(func(c *config) { c.eg.noSSRF = true })
}

// WithMaxResponseBytes caps what a caller may read from a response body;
// past it the body yields an error matching ErrResponseTooLarge, never a
// silently truncated body. It counts the bytes the caller reads: decoded
// when net/http decompresses transparently (it asked for gzip), encoded
// when the caller sets Accept-Encoding and decodes by itself, whose
// decoder must then be bounded too. Negative: no limit.
// Zero, and the default: transport.DefaultMaxResponseBodyBytes (16 MiB).
// A limit below 4 MiB also sizes the HTTP/2 stream receive window of the
// client's base (transport.BaseConfig.HTTP2MaxReceiveBufferPerStream,
// net/http's default 4 MiB) to n, at least 64 KiB: a server may send that
// much ahead of the caller's reads, buffered in memory, so with the
// default window it could push 4 MiB per stream past a 64 KiB limit.
// With WithBaseTransport the window is the transport's.
func WithMaxResponseBytes(n int64) Option {
	return optionFunc(func(c *config) { c.eg.maxBody, c.eg.maxBodyIsSet = n, true })
}

// WithResponseMediaTypes restricts the media types a response with a body
// may have ("application/json", "application/*+json"). Appends. Default:
// any. A redirect the client follows is not checked (its body is
// discarded), nor is one returned by Transport().RoundTrip (see Transport).
func WithResponseMediaTypes(types ...string) Option {
	return optionFunc(func(c *config) { c.eg.mediaTypes = append(c.eg.mediaTypes, types...) })
}

// WithInventory records every call in inv (shared between clients, say),
// and every token request of WithOAuth2ClientCredentials, which must come
// from transport.NewInventory: a nil or zero Inventory is a *ConfigError.
// Default: the client keeps its own, available from Client.Inventory.
func WithInventory(inv *transport.Inventory) Option {
	return requireValue("WithInventory", inv, func(c *config, v *transport.Inventory) { c.eg.inventory = v })
}

// WithAuditLog writes one structured record per call to logger (origin,
// route, method, status, attempts, auth kind, duration, redacted URL),
// and one per token request of WithOAuth2ClientCredentials (no secret of
// the request or of its answer, and no query value of the token URL,
// whatever WithVisibleQueryKeys shows of the calls').
// A redirect hop the redirect policy refuses is recorded too, as a failed
// call with error.type redirect_denied (and no status: nothing was sent),
// and so is a request the client refuses before sending it (a malformed
// one, ErrInvalidRequest; a call after Close, ErrClosed); one without a
// URL is not.
// A record the logger's handler fails to write (its Handle returns an
// error: a full disk, a closed file) is reported to OTel's error handler
// (otel.Handle; set one with otel.SetErrorHandler), not dropped silently.
// A nil logger, a zero slog.Logger (no handler), or one made with slog.New
// of a nil pointer (a *slog.JSONHandler never assigned) is a *ConfigError.
// Default: off.
func WithAuditLog(logger *slog.Logger) Option {
	return requireValue("WithAuditLog", logger, func(c *config, v *slog.Logger) { c.eg.auditLogger = v })
}

// Inventory returns the inventory of every API this client has called,
// the token endpoint of WithOAuth2ClientCredentials included.
// Serve Inventory().Handler() on an admin endpoint to answer "which APIs
// does this service call, how, and with what credentials".
func (c *Client) Inventory() *transport.Inventory { return c.inventory }

// egressConfig derives the egress policy from the options: the explicit
// allowlist plus every configured origin.
func (cfg *config) egressConfig() transport.EgressConfig {
	ec := transport.EgressConfig{CredentialHeaders: cfg.sensitiveHeaders}
	if cfg.apiKey != nil {
		if cfg.apiKey.Header != "" {
			ec.CredentialHeaders = append(slices.Clip(ec.CredentialHeaders), cfg.apiKey.Header)
		}
		if cfg.apiKey.QueryParam != "" {
			ec.CredentialQueryKeys = []string{cfg.apiKey.QueryParam}
		}
	}
	origins := append(slices.Clip(cfg.origins), cfg.redirectOrigins...)
	for _, o := range origins {
		if o.Scheme == "http" {
			ec.AllowHTTP = true
		}
	}
	allow := make([]string, 0, len(cfg.eg.allow)+len(origins))
	for _, p := range cfg.eg.allow {
		// AllowHTTP is only there for the http origins, which are listed
		// with their scheme: an entry without one keeps meaning https
		// rather than also opening plain http to its hosts.
		if ec.AllowHTTP && !strings.Contains(p, "://") {
			p = "https://" + strings.TrimSpace(p)
		}
		allow = append(allow, p)
	}
	for _, o := range origins {
		allow = append(allow, o.String())
	}
	ec.Allow = allow
	return ec
}

// dialConfig derives the SSRF-safe dialer's settings from the compiled
// egress policy (the exact addresses of its IP-literal hosts, dialed only
// as those literals, and its
// explicit ports, which include the client's origins), the allowed
// networks, and the OAuth2 token endpoint the caller configured. An
// IPv4-mapped IPv6 literal allows its IPv4 address too, the one Go's
// dialer connects.
func (cfg *config) dialConfig(policy *transport.EgressPolicy) transport.DialConfig {
	var addrs []netip.Addr
	var ports []uint16
	if cfg.oauth2 != nil {
		if u, err := url.Parse(cfg.oauth2.TokenURL); err == nil {
			o := transport.OriginOf(u)
			if a, err := netip.ParseAddr(o.Host); err == nil {
				addrs = append(addrs, a)
			}
			// Port 0 too is left to tokens.NewClientCredentials, which
			// refuses it naming TokenURL: the dialer's error would name
			// WithAllowedNetworks.
			if n, err := strconv.ParseUint(o.Port, 10, 16); err == nil && n > 0 {
				ports = append(ports, uint16(n))
			}
		}
	}
	return policy.AddDialAllowances(transport.DialConfig{AllowPrefixes: cfg.eg.networks, Proxies: cfg.eg.proxies}, addrs, ports)
}
