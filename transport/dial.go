package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"code.dny.dev/ssrf"

	"github.com/securecall/securecall/internal/ascii"
)

// DialConfig configures NewSafeDialer. The zero value denies every
// special-purpose address and allows ports 80 and 443 only.
type DialConfig struct {
	// AllowPrefixes are address ranges that may be dialed although they
	// are special-purpose: 10.0.0.0/8 for an internal API, 127.0.0.1/32 for
	// a loopback test server. They are checked first, so they also
	// override DenyPrefixes, with one exception: the cloud metadata and
	// instance-credential endpoints SafeDialer lists (169.254.169.254,
	// fd00:ec2::254, 100.100.100.200, ...) stay denied inside a broader
	// allowed range (169.254.0.0/16, fd00::/8, 100.64.0.0/10, 0.0.0.0/0),
	// and are dialed only when an entry names exactly that address
	// (169.254.169.254/32, fd00:ec2::254/128). An IPv4 prefix allows IPv4
	// addresses only. Go dials an IPv4-mapped IPv6 address (::ffff:a.b.c.d,
	// from a URL or a DNS answer) over IPv4, so the dialer, Check and
	// GuardProxy check a.b.c.d: an IPv4 prefix allows it, and an IPv6
	// prefix over ::ffff:0:0/96 allows no connection.
	// Allowing the NAT64 well-known prefix 64:ff9b::/96 (an IPv6-only
	// network with DNS64) allows the public IPv4 addresses behind the
	// gateway: the IPv4 address embedded in 64:ff9b::a.b.c.d is checked
	// with the IPv4 rules, so a private range or the metadata service is
	// reached through NAT64 only when its IPv4 prefix is allowed too. So
	// are the IPv4 addresses embedded in a 6to4 address (2002:a.b.c.d::/48),
	// an IPv4-compatible one (::a.b.c.d) and a Teredo one (2001::/32: both
	// its server's and its client's) when an allowed range covers them
	// (::/0, 2000::/3, 2002::/16, 2001::/32). A
	// local-use or network-specific NAT64 prefix (64:ff9b:1::/48) embeds
	// the address where its length says, which the dialer cannot know:
	// allowing one allows every IPv4 address behind it. An IPv6 address
	// with a zone (fe80::1%eth0, the way a link-local address is dialed)
	// is checked as the address without it, in these ranges and the
	// denied ones alike: the zone names the interface, not the
	// destination. An IPv4-mapped one with a zone is refused.
	AllowPrefixes []netip.Prefix
	// AllowLiterals are addresses dialed only when the destination is the
	// address itself, an IP literal ("https://10.0.0.5:8443/",
	// "https://[fd00::5]/"; an IPv4-mapped one as its IPv4 address, a zone
	// ignored), never for a name that resolves to one: the IP-literal
	// hosts of an egress allowlist and a token endpoint named by its
	// address (EgressPolicy.AddDialAllowances puts them here). So a name
	// whose DNS answers such an address (rebinding) is checked as any name
	// is, and does not reach the internal service the caller named by
	// address. A cloud metadata address listed here is dialed as named
	// exactly; the IPv4 address an IPv6 one embeds (NAT64, 6to4,
	// IPv4-compatible, Teredo) is still checked with the IPv4 rules. Like
	// AllowPrefixes, they override DenyPrefixes. Ports are checked as for
	// any address. Check and GuardProxy (an IP-literal
	// destination behind a proxy) allow them too; GuardProxy's check of a
	// localhost or metadata name does not.
	AllowLiterals []netip.Addr
	// DenyPrefixes are further ranges to deny on top of the built-in list
	// (your own public ranges, say). An IPv6 prefix inside the IPv4-mapped
	// range ::ffff:0:0/96 ("::ffff:203.0.113.0/120") denies the IPv4
	// addresses it maps (203.0.113.0/24), the ones Go dials for it.
	DenyPrefixes []netip.Prefix
	// Ports are the ports that may be dialed. nil means 80 and 443; set
	// AnyPort to allow every port. Which ports each host may use is better
	// said in the egress allowlist (EgressConfig.Allow); this is the
	// backstop for destinations nobody listed.
	Ports []uint16
	// AnyPort allows every port. It cannot be combined with Ports.
	AnyPort bool
	// Proxies are the "host:port" addresses of the proxies the transport
	// may use (as in the proxy URL, port explicit; the host compared
	// without case and without one trailing dot, so "proxy.corp." and
	// "proxy.corp" are one proxy, as in HostKey; an IPv6 zone as written,
	// since it names an interface; an IPv4 address in a legacy form,
	// "127.1:3128", is a *ConfigError naming "127.0.0.1:3128", and so is
	// a host no proxy URL can have, which would match no proxy: one with
	// userinfo, a wildcard, a character a DNS name cannot have or an
	// empty label, an IPv6 address that does not parse). A connection to one of
	// them is dialed without the address check, since a proxy is usually
	// on a private address; the destination behind it is then not checked
	// at dial time (the proxy resolves and connects it): GuardProxy checks
	// IP-literal destinations before the proxy, the port of a named one,
	// and localhost and the well-known metadata names as their addresses,
	// but another name cannot be checked, so keep an egress allowlist and
	// let the proxy enforce its own. Any other address is
	// checked as usual, so an unlisted proxy on a private address is
	// refused. The dialer cannot tell a connection to the proxy from a
	// direct one to the same host:port: use GuardProxy as the transport's
	// proxy function, which refuses a request sent directly to a listed
	// proxy's address.
	Proxies []string
	// Timeout bounds establishing a connection. Zero means
	// DefaultDialTimeout.
	Timeout time.Duration
	// KeepAlive is the TCP keep-alive interval. Zero means
	// DefaultKeepAlive; negative disables keep-alives.
	KeepAlive time.Duration
	// Resolver resolves names. nil means net.DefaultResolver.
	Resolver *net.Resolver
}

// SafeDialer dials TCP connections only to addresses its policy allows.
// The check runs in net.Dialer.Control, that is on the address the socket
// is about to connect to, after name resolution and for every address
// tried: a name that resolved to a public address when something checked it
// earlier and resolves to a private one now (DNS rebinding), or that has
// both kinds of records, never gets a connection to the private one.
// A name is resolved by the SafeDialer itself, which leaves out the
// addresses its policy denies and dials the others (see DialContext), so
// a failed connection to an allowed address is reported as that failure,
// not as the denial of another address of the name.
//
// Denied by default (code.dny.dev/ssrf, generated from the IANA
// special-purpose registries): for IPv4 "this network" 0/8, private 10/8,
// 172.16/12, 192.168/16, shared 100.64/10, loopback 127/8, link-local
// 169.254/16 (cloud metadata 169.254.169.254 included), IETF 192.0.0/24,
// documentation ranges, 6to4 relay, benchmarking 198.18/15, multicast
// 224/4 and reserved 240/4 (broadcast included); for IPv6 everything
// outside global unicast 2000::/3, which takes loopback ::1, unspecified
// ::, IPv4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, link-local fe80::/10,
// unique-local fc00::/7 (AWS metadata fd00:ec2::254) and multicast ff00::/8,
// plus the special ranges inside 2000::/3 (Teredo, documentation, 6to4,
// ORCHIDv2 and others). Also denied: the Azure WireServer 168.63.129.16, a
// cloud platform endpoint in public address space. The cloud metadata and
// instance-credential endpoints stay denied inside a range AllowPrefixes
// opens, unless an entry names exactly that address: 169.254.169.254 (the
// metadata service of AWS, GCP, Azure, Oracle, OpenStack and others),
// fd00:ec2::254 (AWS, IPv6), fd20:ce::254 (Google Cloud, IPv6),
// fd00:c1::a9fe:a9fe (Oracle Cloud, IPv6), 169.254.170.2 (AWS ECS task
// credentials), 169.254.170.23 and fd00:ec2::23 (Amazon EKS Pod Identity),
// 100.100.100.200 (Alibaba Cloud), 168.63.129.16 (Azure WireServer),
// 169.254.42.42 and fd00:42::42 (Scaleway), 169.254.0.23 (Tencent Cloud),
// fd00:a9fe:a9fe::1 (Akamai/Linode, IPv6) and 192.0.0.192 (Oracle Cloud
// Classic);
// a metadata address embedded in an allowed NAT64 address (64:ff9b::/96),
// 6to4 address (2002::/16), IPv4-compatible address (::/96) or Teredo
// address (2001::/32: the server's and the client's), or written
// IPv4-mapped, is checked as that IPv4 address, and so is any IPv4
// address embedded in those (a 6to4 2002:7f00:1:: is 127.0.0.1). Only tcp4 and
// tcp6 are dialed.
//
// Use DialContext as BaseConfig.DialContext or http.Transport.DialContext.
// A SafeDialer is safe for concurrent use.
type SafeDialer struct {
	d       net.Dialer // with Control = check
	plain   net.Dialer // for the configured proxies
	guard   *ssrf.Guardian
	meta    []netip.Addr // metadata addresses an allowed range covers but no entry names; nil: none
	proxies map[string]bool
	ports   []uint16 // the ports that may be dialed; nil: every port
	// literals are DialConfig.AllowLiterals, unmapped and without zone;
	// lit dials them (Control = controlLiteral) when the dialed host is
	// one of them written as an IP literal. nil: none.
	literals []netip.Addr
	lit      net.Dialer
}

// AddressError reports a connection refused by a SafeDialer: Addr is the
// resolved address it would have connected to. It wraps ErrEgressDenied
// and the code.dny.dev/ssrf sentinel of the rule that matched
// (ssrf.ErrProhibitedIP, ErrProhibitedPort, ErrProhibitedNetwork).
type AddressError struct {
	Network string
	Addr    string
	Err     error
}

func (e *AddressError) Error() string {
	return "transport: egress denied: dial " + e.Network + " " + e.Addr + ": " + e.Err.Error()
}

// Unwrap returns ErrEgressDenied and the ssrf sentinel.
func (e *AddressError) Unwrap() []error { return []error{ErrEgressDenied, e.Err} }

// NewSafeDialer returns a SafeDialer configured by cfg, or a *ConfigError
// naming the bad field.
func NewSafeDialer(cfg DialConfig) (*SafeDialer, error) {
	if cfg.Timeout < 0 {
		return nil, configErrorf("Timeout", nil, "must not be negative, got %v", cfg.Timeout)
	}
	if cfg.AnyPort && len(cfg.Ports) > 0 {
		return nil, configErrorf("Ports", nil, "cannot be combined with AnyPort")
	}
	for i, p := range cfg.Ports {
		if p == 0 {
			return nil, configErrorf("Ports["+strconv.Itoa(i)+"]", nil, "port 0 cannot be dialed")
		}
	}
	var v4allow, v6allow, v4deny, v6deny []netip.Prefix
	for _, a := range cloudMetadataAddrs {
		// Denied whatever the registries say (168.63.129.16 is in
		// public space): an address no allowed range covers.
		if a.Is4() {
			v4deny = append(v4deny, netip.PrefixFrom(a, 32))
		} else {
			v6deny = append(v6deny, netip.PrefixFrom(a, 128))
		}
	}
	for i, p := range cfg.AllowPrefixes {
		if !p.IsValid() {
			return nil, configErrorf("AllowPrefixes["+strconv.Itoa(i)+"]", nil, "not a valid prefix")
		}
		if p.Addr().Is4() {
			v4allow = append(v4allow, p.Masked())
		} else {
			v6allow = append(v6allow, p.Masked())
		}
	}
	for i, a := range cfg.AllowLiterals {
		if !a.IsValid() {
			return nil, configErrorf("AllowLiterals["+strconv.Itoa(i)+"]", nil, "not a valid address")
		}
	}
	for i, p := range cfg.DenyPrefixes {
		if !p.IsValid() {
			return nil, configErrorf("DenyPrefixes["+strconv.Itoa(i)+"]", nil, "not a valid prefix")
		}
		switch {
		case p.Addr().Is4():
			v4deny = append(v4deny, p.Masked())
		case p.Addr().Is4In6() && p.Bits() >= 96:
			// Go dials ::ffff:a.b.c.d over IPv4, so the dialer only
			// ever checks a.b.c.d: deny the IPv4 addresses it maps.
			v4deny = append(v4deny, netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked())
		default:
			v6deny = append(v6deny, p.Masked())
		}
	}
	opts := []ssrf.Option{
		ssrf.WithAllowedV4Prefixes(v4allow...),
		ssrf.WithAllowedV6Prefixes(v6allow...),
		ssrf.WithDeniedV4Prefixes(v4deny...),
		ssrf.WithDeniedV6Prefixes(v6deny...),
	}
	switch {
	case cfg.AnyPort:
		opts = append(opts, ssrf.WithAnyPort())
	case len(cfg.Ports) > 0:
		opts = append(opts, ssrf.WithPorts(cfg.Ports...))
	}
	sd := &SafeDialer{guard: ssrf.New(opts...), meta: coveredMetadata(v4allow, v6allow)}
	for _, a := range cfg.AllowLiterals {
		if a = a.WithZone("").Unmap(); !slices.Contains(sd.literals, a) {
			sd.literals = append(sd.literals, a)
		}
	}
	switch {
	case cfg.AnyPort:
	case len(cfg.Ports) > 0:
		sd.ports = slices.Clone(cfg.Ports)
	default:
		sd.ports = []uint16{80, 443}
	}
	for i, p := range cfg.Proxies {
		h, port, err := net.SplitHostPort(p)
		if err != nil || strings.TrimSuffix(h, ".") == "" || port == "" {
			return nil, configErrorf("Proxies["+strconv.Itoa(i)+"]", nil, "must be host:port")
		}
		// net/http dials a proxy at a numeric port: any other spelling
		// would never match, and the proxy would be refused at dial time.
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return nil, configErrorf("Proxies["+strconv.Itoa(i)+"]", nil, "port must be 1-65535, without leading zeros")
		}
		if err := checkProxyHost(h); err != nil {
			// The entry is not quoted: it may hold userinfo.
			return nil, configErrorf("Proxies["+strconv.Itoa(i)+"]", nil, "%v: it would match no proxy the transport dials", err)
		}
		if name, _ := originHost(h); ipv4Key(name) != name {
			// "127.1", "2130706433", "0x7f.0.0.1": an IPv4 address in a
			// legacy form, which proxyKey takes for a name, so the entry
			// would match only a proxy URL spelled the same way (which
			// Go's own resolver does not resolve, the cgo one does), as for ParseOrigin and the
			// egress allowlist. The address is no secret: name the form
			// to write.
			return nil, configErrorf("Proxies["+strconv.Itoa(i)+"]", nil, "an IPv4 address in a legacy form matches only a proxy URL spelled the same way: write %q", ipv4Key(name)+":"+port)
		}
		if sd.proxies == nil {
			sd.proxies = map[string]bool{}
		}
		sd.proxies[proxyKey(h, port)] = true
	}
	keepAlive := nonZeroOr(cfg.KeepAlive, DefaultKeepAlive)
	timeout := nonZeroOr(cfg.Timeout, DefaultDialTimeout)
	sd.d = net.Dialer{Timeout: timeout, KeepAlive: keepAlive, Resolver: cfg.Resolver, Control: sd.control}
	sd.plain = net.Dialer{Timeout: timeout, KeepAlive: keepAlive, Resolver: cfg.Resolver}
	sd.lit = net.Dialer{Timeout: timeout, KeepAlive: keepAlive, Resolver: cfg.Resolver, Control: sd.controlLiteral}
	return sd, nil
}

// cloudMetadataAddrs are the cloud metadata and instance-credential
// endpoints (the one list of them; docs/security.md shows it) a
// SafeDialer denies even inside a range DialConfig.AllowPrefixes opens:
// an AllowPrefixes entry naming exactly one of them (a /32 or /128 equal
// to it) is the only way to dial it. Each hands out instance or
// workload credentials, or the configuration they come with:
//
//   - 169.254.169.254: the instance metadata service of AWS (IMDS), GCP,
//     Azure (IMDS), Oracle Cloud, OpenStack, DigitalOcean and others
//   - fd00:ec2::254: the AWS IMDS over IPv6 (Nitro instances)
//   - fd20:ce::254: the Google Cloud metadata server over IPv6 (IPv6-only
//     VMs)
//   - fd00:c1::a9fe:a9fe: the Oracle Cloud IMDS over IPv6
//   - 169.254.170.2: the AWS ECS task metadata and credentials endpoint
//   - 169.254.170.23, fd00:ec2::23: the Amazon EKS Pod Identity agent
//   - 100.100.100.200: the Alibaba Cloud ECS metadata service (inside
//     the shared range 100.64.0.0/10 that Kubernetes pod and service
//     networks often use)
//   - 168.63.129.16: the Azure WireServer (guest-agent goal state and
//     extension settings), in public address space, so in no IANA
//     special-purpose range: denied by this list alone
//   - 169.254.42.42, fd00:42::42: the Scaleway instance metadata API
//     (user data, which may hold secrets)
//   - 169.254.0.23: the Tencent Cloud CVM metadata service
//     (metadata.tencentyun.com)
//   - fd00:a9fe:a9fe::1: the Akamai (Linode) metadata service over IPv6
//     (169.254.169.254 over IPv4)
//   - 192.0.0.192: the Oracle Cloud Infrastructure Classic metadata
//     service (in the IETF range 192.0.0.0/24)
//
// Sources: each provider's documentation of its metadata service and
// cloud-init's datasources (Scaleway, Akamai).
//
// Not listed: the Amazon Time Sync Service 169.254.169.123 (NTP over UDP,
// which the dialer never dials, and no credentials). Every address here is
// IPv4 or IPv6 as written, not IPv4-mapped: the dialer checks a mapped
// address (::ffff:169.254.169.254), and the IPv4 address embedded in a
// NAT64 well-known-prefix one (64:ff9b::a9fe:a9fe), a 6to4 one
// (2002:a9fe:a9fe::) or an IPv4-compatible one (::a9fe:a9fe), and both
// of a Teredo one (2001:0:4136:e378:8000:63bf:5601:5601: the client
// 169.254.169.254), as that IPv4 address.
var cloudMetadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"),
	netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("fd20:ce::254"),
	netip.MustParseAddr("fd00:c1::a9fe:a9fe"),
	netip.MustParseAddr("169.254.170.2"),
	netip.MustParseAddr("169.254.170.23"),
	netip.MustParseAddr("fd00:ec2::23"),
	netip.MustParseAddr("100.100.100.200"),
	netip.MustParseAddr("168.63.129.16"),
	netip.MustParseAddr("169.254.42.42"),
	netip.MustParseAddr("fd00:42::42"),
	netip.MustParseAddr("169.254.0.23"),
	netip.MustParseAddr("fd00:a9fe:a9fe::1"),
	netip.MustParseAddr("192.0.0.192"),
}

// coveredMetadata returns the cloudMetadataAddrs that one of the allowed
// prefixes covers but none names exactly: the addresses the SafeDialer
// must still refuse, since the Guardian checks its allows first. nil when
// there are none (no allowed range covers a metadata address), so the
// check costs a dial nothing.
func coveredMetadata(v4allow, v6allow []netip.Prefix) []netip.Addr {
	var meta []netip.Addr
	for _, a := range cloudMetadataAddrs {
		allow := v6allow
		if a.Is4() {
			allow = v4allow
		}
		covered, named := false, false
		for _, p := range allow {
			if p.Contains(a) {
				covered = true
				if p.Bits() == a.BitLen() {
					named = true
				}
			}
		}
		if covered && !named {
			meta = append(meta, a)
		}
	}
	return meta
}

// metadataCheck refuses a, when one of sd.meta: a metadata address an
// allowed range covers without naming it. An IPv4-mapped a is compared as
// its IPv4 address, and a zone is ignored.
func (sd *SafeDialer) metadataCheck(a netip.Addr) error {
	if sd.meta == nil {
		return nil
	}
	a = a.WithZone("").Unmap()
	for _, m := range sd.meta {
		if a == m {
			return errMetadataDenied
		}
	}
	return nil
}

// errMetadataDenied is the error of metadataCheck, wrapping the ssrf
// sentinel as the Guardian's refusals do.
var errMetadataDenied = fmt.Errorf("%w: a cloud metadata address is dialed only when DialConfig.AllowPrefixes names it exactly", ssrf.ErrProhibitedIP)

// proxyKey is the key of a proxy address in SafeDialer.proxies: the host
// lower-cased without one trailing dot (as HostKey: "proxy." and "proxy"
// are one host, "proxy.." another) and in its punycode form (the name
// net/http dials), an IP literal in its canonical form ("[0:0::1]" is
// "[::1]"), and the port.
func proxyKey(host, port string) string {
	if a, err := netip.ParseAddr(host); err == nil {
		return net.JoinHostPort(a.String(), port)
	}
	h, _ := originHost(host)
	return net.JoinHostPort(h, port)
}

// checkProxyHost reports why h, the host of a DialConfig.Proxies entry,
// is no host a proxy URL can have, so that the dialer, given the proxy
// URL's host and port, would never match the entry: userinfo (the
// dialer is given the host without it), a wildcard (an entry is one
// proxy), a character a DNS name cannot have or an empty label, or an
// IPv6 address that does not parse.
func checkProxyHost(h string) error {
	if _, err := netip.ParseAddr(h); err == nil {
		return nil
	}
	switch {
	case strings.IndexByte(h, '@') >= 0:
		return errorString("must be host:port, without userinfo")
	case strings.IndexByte(h, '*') >= 0:
		return errorString("a wildcard names no proxy: list each proxy as host:port")
	case strings.IndexByte(h, ':') >= 0:
		return errorString("not an IPv6 address")
	}
	_, err := normaliseName(h)
	return err
}

// nat64WKP is the NAT64 well-known prefix (RFC 6052): 64:ff9b::a.b.c.d
// is the IPv4 address a.b.c.d, reached through a NAT64 gateway.
var nat64WKP = netip.MustParsePrefix("64:ff9b::/96")

// sixToFour is the 6to4 prefix (RFC 3056): 2002:a.b.c.d::/48 is the site
// whose 6to4 router is at the IPv4 address a.b.c.d.
var sixToFour = netip.MustParsePrefix("2002::/16")

// teredo is the Teredo prefix (RFC 4380): 2001:0:s.s.s.s:flags:port:c.c.c.c
// is the client whose public IPv4 address is c.c.c.c with each bit
// inverted, served by the Teredo server at s.s.s.s.
var teredo = netip.MustParsePrefix("2001::/32")

// ipv4Compatible is the deprecated IPv4-compatible range (RFC 4291
// section 2.5.5.1): ::a.b.c.d is the IPv4 address a.b.c.d.
var ipv4Compatible = netip.MustParsePrefix("::/96")

// ownChecks are the checks of an address the ssrf guard has let through
// that are the dialer's own: a metadata address a broad allow covers
// (metadataCheck), the IPv4 address embedded in an allowed NAT64, 6to4
// or IPv4-compatible one, and both of a Teredo one (embeddedCheck).
func (sd *SafeDialer) ownChecks(a netip.Addr) error {
	if err := sd.metadataCheck(a); err != nil {
		return err
	}
	return sd.embeddedCheck(a)
}

// embeddedIPv4 returns the IPv4 address an IPv6 address a (no zone)
// embeds: a NAT64 well-known-prefix address (64:ff9b::a.b.c.d), a 6to4
// one (2002:a.b.c.d::/48) or an IPv4-compatible one (::a.b.c.d; not ::
// and ::1, nor the rest of ::/104, since 0.0.0.0/8 names no remote host).
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	switch {
	case nat64WKP.Contains(a), ipv4Compatible.Contains(a) && b[12] != 0:
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}

// teredoIPv4s returns the two IPv4 addresses a Teredo address a (no zone)
// embeds: the Teredo server's (bits 32-63) and the client's (the last 32
// bits, each inverted), to which a relay sends the packets.
func teredoIPv4s(a netip.Addr) (server, client netip.Addr, ok bool) {
	if !a.Is6() || !teredo.Contains(a) {
		return netip.Addr{}, netip.Addr{}, false
	}
	b := a.As16()
	return netip.AddrFrom4([4]byte{b[4], b[5], b[6], b[7]}),
		netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), true
}

// embeddedCheck checks the IPv4 address embedded in an allowed NAT64
// well-known-prefix, 6to4 or IPv4-compatible address (embeddedIPv4), and
// both of a Teredo address (teredoIPv4s), with the IPv4 rules: allowing
// 64:ff9b::/96 (needed in an IPv6-only network with DNS64), or IPv6
// broadly (::/0, 2000::/3), must not open the private IPv4 ranges and the
// metadata service behind a gateway or relay.
func (sd *SafeDialer) embeddedCheck(a netip.Addr) error {
	a = a.WithZone("")
	if server, client, ok := teredoIPv4s(a); ok {
		if err := sd.ipv4Check(server); err != nil {
			return err
		}
		return sd.ipv4Check(client)
	}
	v4, ok := embeddedIPv4(a)
	if !ok {
		return nil
	}
	return sd.ipv4Check(v4)
}

// ipv4Check checks v4, an IPv4 address embedded in an allowed IPv6 one,
// with the IPv4 rules and the metadata exception.
func (sd *SafeDialer) ipv4Check(v4 netip.Addr) error {
	if err := sd.guard.SafeAddr(v4); err != nil {
		return err
	}
	return sd.metadataCheck(v4)
}

// control is the net.Dialer.Control hook: address is the IP:port the
// socket is about to connect to.
func (sd *SafeDialer) control(network, address string, _ syscall.RawConn) error {
	check := address
	if strings.IndexByte(address, '%') >= 0 {
		// "[fe80::1%eth0]:443": the zone names the interface, not the
		// destination, and netip.Prefix.Contains matches no zoned
		// address (no allowed range, no global unicast one): checked
		// as the address without it. An IPv4-mapped one is dialed as
		// "a.b.c.d%zone", which does not parse and is refused.
		if ap, perr := netip.ParseAddrPort(address); perr == nil && ap.Addr().Is6() && !ap.Addr().Is4In6() {
			check = netip.AddrPortFrom(ap.Addr().WithZone(""), ap.Port()).String()
		}
	}
	err := sd.guard.Safe(network, check, nil)
	if err == nil {
		if ap, perr := netip.ParseAddrPort(check); perr == nil {
			err = sd.ownChecks(ap.Addr())
		}
	}
	if err != nil {
		return &AddressError{Network: network, Addr: address, Err: err}
	}
	return nil
}

// controlLiteral is the net.Dialer.Control hook of a dial whose host is
// an IP literal of DialConfig.AllowLiterals: address, the IP:port the
// socket is about to connect to, is that literal (Go resolves no
// literal), allowed on an allowed port; anything else is checked as
// control checks it.
func (sd *SafeDialer) controlLiteral(network, address string, c syscall.RawConn) error {
	if network == "tcp4" || network == "tcp6" {
		if ap, err := netip.ParseAddrPort(address); err == nil && sd.literalOK(ap) {
			return nil
		}
	}
	return sd.control(network, address, c)
}

// isLiteral reports whether a (a zone ignored; an IPv4-mapped address as
// its IPv4 address) is one of DialConfig.AllowLiterals.
func (sd *SafeDialer) isLiteral(a netip.Addr) bool {
	return sd.literals != nil && slices.Contains(sd.literals, a.WithZone("").Unmap())
}

// literalOK reports whether ap, an address given as an IP literal, is
// dialed as one of DialConfig.AllowLiterals: listed, on an allowed port,
// and any IPv4 address it embeds allowed by the IPv4 rules.
func (sd *SafeDialer) literalOK(ap netip.AddrPort) bool {
	if !sd.isLiteral(ap.Addr()) || sd.ports != nil && !slices.Contains(sd.ports, ap.Port()) {
		return false
	}
	return sd.embeddedCheck(ap.Addr()) == nil
}

// Check reports whether the SafeDialer would connect to ap over TCP: nil,
// or an *AddressError. An IPv4-mapped address is checked as the IPv4
// address Go dials for it ("[::ffff:8.8.8.8]:443" as 8.8.8.8:443), and one
// with a zone is refused, as the dialer refuses it; another IPv6 address
// with a zone is checked as the address without it, as the dialer checks
// it ("[fe80::1%eth0]:443" as fe80::1: the zone names the interface).
// The IPv4 addresses embedded in an allowed NAT64, 6to4, IPv4-compatible
// or Teredo address are checked with the IPv4 rules, as the dialer checks
// them ("[2002:a9fe:a9fe::]:443" as 169.254.169.254; see AllowPrefixes).
// ap is taken for a destination given as that IP literal, so an address
// of DialConfig.AllowLiterals passes.
// On a zero SafeDialer it returns a *ConfigError.
func (sd *SafeDialer) Check(ap netip.AddrPort) error {
	return sd.check(ap, true)
}

// check is Check; literal tells whether ap is dialed as written (an IP
// literal), not as an address a name resolves to, which AllowLiterals
// does not allow.
func (sd *SafeDialer) check(ap netip.AddrPort, literal bool) error {
	if sd.guard == nil {
		return zeroErr(sd)
	}
	if a := ap.Addr(); a.Is4In6() {
		// Go dials an IPv4-mapped address over IPv4: control is handed
		// a.b.c.d, checked with the IPv4 rules, and, with a zone,
		// "a.b.c.d%zone", which it refuses.
		if a.Zone() != "" {
			return sd.control("tcp4", a.Unmap().String()+"%"+a.Zone()+":"+strconv.Itoa(int(ap.Port())), nil)
		}
		ap = netip.AddrPortFrom(a.Unmap(), ap.Port())
	}
	if literal && sd.literalOK(ap) {
		return nil
	}
	// A zone names the interface, not the destination: checked as the
	// address without it, as the dialer checks it.
	err := sd.guard.SafeAddrPort(netip.AddrPortFrom(ap.Addr().WithZone(""), ap.Port()))
	if err == nil {
		err = sd.ownChecks(ap.Addr())
	}
	if err != nil {
		return &AddressError{Network: "tcp", Addr: ap.String(), Err: err}
	}
	return nil
}

// GuardProxy returns proxy (nil: no proxy) wrapped for use as
// http.Transport.Proxy or BaseConfig.Proxy with this dialer as the
// transport's DialContext. The dialer dials a listed proxy (Proxies)
// without the address check, and cannot tell that connection from a
// direct one to the same host:port; so a request that would go directly
// (proxy is nil or returns no proxy for it) to a listed proxy's address is
// refused with an *EgressError wrapping ErrEgressDenied, before anything
// is dialed.
//
// Through a proxy the dialer only sees the proxy's address, and the proxy
// connects the destination. So a request the proxy function sends through
// a proxy has an IP-literal destination checked here, with the dialer's
// rules (address and port), before it is handed to the proxy: the cloud
// metadata service or a private address cannot be reached through the
// proxy either. The legacy numeric forms a proxy's resolver reads as IPv4
// addresses ("2852039166", "0xa9.0xfe.0xa9.0xfe", "127.1"), also with
// trailing dots ("169.254.169.254.."), are checked as those addresses,
// a name's port is checked against the dialer's ports (a name is resolved
// by the proxy, its port needs no resolving: "https://redis.internal:6379/"
// is refused unless Ports or AnyPort allows 6379), "localhost" and the
// names below it, which always resolve to loopback (RFC 6761) and through
// a proxy reach the proxy's own host, are checked as 127.0.0.1 and ::1
// (refused unless AllowPrefixes opens loopback), the well-known cloud
// metadata names (metadata.google.internal, metadata.tencentyun.com,
// instance-data.ec2.internal, instance-data.<region>.compute.internal;
// without case, trailing dots ignored) are checked as the metadata
// addresses they resolve to (refused unless AllowPrefixes names the
// address exactly), and a host that ends in
// a number but is no address
// ("1.2.3.4.5") is refused, as is a host that is no IP literal and holds a
// character no DNS name may ("169.254.169.254%eth0", from "%25" in the
// URL; "a!b", "a;b"); an IPv6 literal with a zone ("[fe80::1%25eth0]") is
// checked as its address. Those refusals are *EgressErrors wrapping
// ErrEgressDenied; a host built by hand with userinfo in it (URL.Host or
// Host "user:pass@host") is refused as invalid, and the error names it
// without the userinfo. Any other name cannot be checked: it is resolved by
// the proxy, not here; keep an egress allowlist and let the proxy enforce
// its own policy. An IPv4-mapped IPv6 literal without a zone
// ("[::ffff:127.0.0.1]") is checked as its IPv4 address, the one the
// proxy connects (as the dialer checks it for a direct request). The
// absolute-form request-target a hand-set URL.Opaque makes
// ("//169.254.169.254/", which net/http sends to the proxy as
// "http://169.254.169.254/") is checked the same way: the proxy connects
// its host, not URL.Host's. So is the Host of a plain-http request whose
// Host names another authority than URL.Host: net/http sends it to the
// proxy as the request-target "http://" + Host + path, so the proxy
// connects the Host's host and port (an https request's CONNECT, and a
// SOCKS proxy, connect URL.Host); with a hand-set URL.Opaque too, whose
// origin-form target ("/x") leaves the Host the only authority the proxy
// is given. A plain-http request whose URL path, built by hand, does not
// start with "/" is refused: net/http writes the target as "http://" +
// host + path, so "@169.254.169.254/x" or ":6379/x" would continue the
// host the proxy connects.
func (sd *SafeDialer) GuardProxy(proxy func(*http.Request) (*url.URL, error)) func(*http.Request) (*url.URL, error) {
	return func(req *http.Request) (*url.URL, error) {
		var pu *url.URL
		if proxy != nil {
			var err error
			if pu, err = proxy(req); err != nil {
				return nil, err
			}
		}
		pu, err := sd.guardProxied(req, pu)
		// A Host or URL.Host built by hand may hold userinfo: refused as
		// an invalid host, and never quoted.
		return pu, withoutUserinfo(err)
	}
}

// guardProxied is GuardProxy's check of req, which the proxy function
// sends through pu (nil: directly).
func (sd *SafeDialer) guardProxied(req *http.Request, pu *url.URL) (*url.URL, error) {
	if pu != nil {
		if req.URL != nil {
			if err := sd.checkProxied(OriginOf(req.URL)); err != nil {
				return nil, err
			}
			// A hand-set Opaque ("//169.254.169.254/") is sent as
			// the request-target, whose host the proxy connects.
			t, ok, err := opaqueTarget(req.URL)
			if err != nil {
				return nil, &EgressError{Origin: OriginOf(req.URL), Reason: egressTarget}
			}
			if ok {
				if err := sd.checkProxied(OriginOf(t)); err != nil {
					return nil, err
				}
			}
			if err := sd.checkProxiedHost(req, pu); err != nil {
				return nil, err
			}
		}
		return pu, nil
	}
	if sd.proxies != nil && req.URL != nil {
		// The key DialContext finds for the address net/http dials:
		// of the host as the URL writes it, not of OriginOf's host,
		// another normalisation (one that lower-cased an IPv6 zone:
		// "%ETH0" is another interface than "%eth0", and DialContext
		// exempts the one listed).
		o := OriginOf(req.URL)
		if sd.proxies[proxyKey(req.URL.Hostname(), o.Port)] {
			return nil, &EgressError{Origin: o, Reason: egressProxyDirect}
		}
	}
	return nil, nil
}

// checkProxied checks the destination o of a request sent through a proxy
// (see GuardProxy): an IP literal, in any form a resolver reads as one,
// against the dialer's rules; a name for its characters and its port: a
// host that is no address and holds a character no DNS name may ("%" from
// a "%25" in the URL, as in "169.254.169.254%eth0", a sub-delimiter, a
// non-ASCII byte of a name that is no valid IDN) is refused, since what the
// proxy makes of it is unknown, and so is a port the dialer would not dial
// (the proxy would connect it: "https://redis.internal:6379/"); a
// localhost or well-known metadata name is checked as the addresses it
// resolves to.
func (sd *SafeDialer) checkProxied(o Origin) error {
	a, ok, numeric := hostAddr(o.Host)
	port, perr := strconv.ParseUint(o.Port, 10, 16)
	if !ok {
		if numeric || !isNameChars(o.Host) {
			return &EgressError{Origin: o, Reason: egressBadHost}
		}
		if perr != nil || sd.ports != nil && !slices.Contains(sd.ports, uint16(port)) {
			return &EgressError{Origin: o, Reason: egressPort}
		}
		addrs := metadataNameAddrs(o.Host)
		if isLocalhostName(o.Host) {
			// Always loopback (RFC 6761): checked as its addresses.
			addrs = loopbackAddrs
		}
		for _, a := range addrs {
			// Addresses a name resolves to: not allowed as literals.
			if err := sd.check(netip.AddrPortFrom(a, uint16(port)), false); err != nil {
				return err
			}
		}
		return nil
	}
	if perr != nil {
		return &EgressError{Origin: o, Reason: egressPort}
	}
	// "[::ffff:127.0.0.1]" is 127.0.0.1, the address a proxy (and Go's
	// dialer, for a direct request) connects over IPv4: checked with the
	// IPv4 rules and allowances, as HostKey names it.
	return sd.Check(netip.AddrPortFrom(dialedAddr(a), uint16(port)))
}

// checkProxiedHost checks the Host of a plain-http request sent through a
// proxy: net/http writes its request-target as "http://" + req.Host + the
// path (Request.write prefers the Host to URL.Host), and the proxy
// connects the host and port that target names. With a hand-set
// URL.Opaque the target is the Opaque, and the Host field is still sent:
// an origin-form Opaque ("/x") leaves the Host the only authority the
// proxy is given, and a proxy that routes by the Host header (Envoy, an
// nginx forward proxy on $http_host) connects it whatever the target
// says, so it is checked too. A URL path that does not start with "/"
// (a URL built by hand) continues the target's host and is refused (see
// pathJoinsHost). An https request's target is the CONNECT to URL.Host.
// Through a SOCKS proxy pu, the proxy connects URL.Host and the request
// goes in origin-form.
func (sd *SafeDialer) checkProxiedHost(req *http.Request, pu *url.URL) error {
	if lowerScheme(req.URL.Scheme) != "http" || pu.Scheme == "socks5" || pu.Scheme == "socks5h" {
		return nil
	}
	if pathJoinsHost(req.URL) {
		// The target is "http://" + host + path: a path without its
		// leading "/" continues the host ("@169.254.169.254/x").
		return &EgressError{Origin: OriginOf(req.URL), Reason: egressPath}
	}
	if req.Host == "" || req.Host == req.URL.Host {
		return nil
	}
	return sd.checkProxied(OriginOf(&url.URL{Scheme: req.URL.Scheme, Host: req.Host}))
}

// metadataNames are the well-known names of cloud metadata services
// (docs/security.md lists them), each with the addresses it resolves to
// on that cloud (see cloudMetadataAddrs): GuardProxy checks such a name,
// which a proxy would resolve, as those addresses.
//
//   - metadata.google.internal: the Google Cloud metadata server
//     (169.254.169.254; fd20:ce::254 on IPv6-only VMs)
//   - metadata.tencentyun.com: the Tencent Cloud CVM metadata service
//   - instance-data.ec2.internal, and instance-data.<region>.compute.internal
//     (metadataNameAddrs): the AWS instance metadata service as Amazon's
//     DNS names it
//
// Single-label names ("metadata", "instance-data") are not listed: what
// they resolve to depends on the proxy's search domains, and an internal
// service may have such a name.
var metadataNames = map[string][]netip.Addr{
	"metadata.google.internal":   {netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("fd20:ce::254")},
	"metadata.tencentyun.com":    {netip.MustParseAddr("169.254.0.23")},
	"instance-data.ec2.internal": {netip.MustParseAddr("169.254.169.254")},
}

// metadataNameAddrs returns the addresses of h when it is a well-known
// metadata name (metadataNames, or instance-data.<region>.compute.internal),
// compared without case and with any trailing dots removed (a proxy
// strips them all); nil for any other name.
func metadataNameAddrs(h string) []netip.Addr {
	h = strings.TrimRight(h, ".")
	if len(h) < len("metadata.tencentyun.com") {
		return nil
	}
	h = strings.ToLower(h)
	if a := metadataNames[h]; a != nil {
		return a
	}
	if r, ok := strings.CutPrefix(h, "instance-data."); ok {
		if r, ok = strings.CutSuffix(r, ".compute.internal"); ok && r != "" && strings.IndexByte(r, '.') < 0 {
			return metadataNames["instance-data.ec2.internal"]
		}
	}
	return nil
}

// loopbackAddrs are the addresses a localhost name resolves to.
var loopbackAddrs = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}

// isLocalhostName reports whether the host name h (any trailing dots
// ignored) is "localhost" or a name below it, which name resolution
// always answers with a loopback address (RFC 6761 section 6.3).
func isLocalhostName(h string) bool {
	h = strings.ToLower(strings.TrimRight(h, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// isNameChars reports whether h is not empty and has only the characters
// of a DNS name in its ASCII form: letters, digits, "-", "_" and ".".
func isNameChars(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// hostAddr returns the address a host names: an IP literal, or one of the
// legacy IPv4 forms inet_aton (and so many resolvers, proxies among them)
// and the WHATWG URL standard read as an address: one to four parts, each
// decimal, octal (leading 0) or hex (0x), the last filling the remaining
// bytes ("127.1", "2130706433", "0x7f.0.0.1"). numeric reports a host whose
// last label is a number (the WHATWG test for "this is an IPv4 address"),
// so a false ok with a true numeric is a host that is no valid address and
// no name either. Trailing dots are ignored, however many: a proxy reads
// "169.254.169.254.." as 169.254.169.254 (Squid strips them all before it
// tells an address from a name), while an Origin loses only one.
func hostAddr(h string) (a netip.Addr, ok, numeric bool) {
	h = strings.TrimRight(h, ".")
	if a, err := netip.ParseAddr(h); err == nil {
		return a, true, true
	}
	parts := strings.Split(h, ".")
	if !isNumberPart(parts[len(parts)-1]) {
		return netip.Addr{}, false, false
	}
	if len(parts) > 4 {
		return netip.Addr{}, false, true
	}
	var v uint64
	for i, p := range parts {
		n, ok := parseNumberPart(p)
		limit := uint64(255)
		if i == len(parts)-1 {
			limit = 1<<(8*(5-len(parts))) - 1
		}
		if !ok || n > limit {
			return netip.Addr{}, false, true
		}
		if i == len(parts)-1 {
			v = v<<(8*(5-len(parts))) | n
		} else {
			v = v<<8 | n
		}
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true, true
}

// dialedAddr returns a as the address Go connects to: an IPv4-mapped
// IPv6 address without a zone ("::ffff:127.0.0.1") as its IPv4 address
// (Go dials it over IPv4), anything else as it is. A zone keeps a mapped
// address IPv6: a zone is matched only as written. HostKey, the credential
// scope, the egress allowlist and GuardProxy name a destination by it.
func dialedAddr(a netip.Addr) netip.Addr {
	if a.Is4In6() && a.Zone() == "" {
		return a.Unmap()
	}
	return a
}

// mistypedIPv4 reports whether host ends in a number but is no valid IPv4
// address ("256.1.1.1", "1.2.3.999", "1.2.3.4.5"): the WHATWG URL parser
// and a proxy's inet_aton read an address there, and fail, and Go's
// resolver looks no all-numeric name up. Such a host names nothing, so
// configuration naming it (an origin, an egress entry) is refused.
func mistypedIPv4(host string) bool {
	_, ok, numeric := hostAddr(host)
	return !ok && numeric
}

// isNumberPart reports whether p is all decimal digits, or "0x" followed by
// hex digits.
func isNumberPart(p string) bool {
	if len(p) >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') {
		_, err := strconv.ParseUint("0"+p[2:], 16, 64)
		return err == nil || errors.Is(err, strconv.ErrRange)
	}
	return p != "" && ascii.AllDigits(p)
}

// parseNumberPart parses one part of a legacy IPv4 address: hex after
// "0x", octal after a leading 0, else decimal; at most 32 bits.
func parseNumberPart(p string) (uint64, bool) {
	base := 10
	switch {
	case len(p) >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'):
		p, base = "0"+p[2:], 16
	case len(p) > 1 && p[0] == '0':
		base = 8
	}
	n, err := strconv.ParseUint(p, base, 32)
	return n, err == nil
}

// DialContext connects to addr on network like net.Dialer.DialContext,
// refusing addresses the policy denies with an error that wraps an
// *AddressError (and so ErrEgressDenied). A name is resolved and only its
// allowed addresses are dialed (each checked again as it connects, Happy
// Eyeballs between the families as net.Dialer does): when the policy
// denies every address, the error is the first one's *AddressError; when
// it allows some and they fail to connect, the error is their dial error
// (a *net.OpError: connection refused, a timeout), which names the denied
// addresses and does not wrap ErrEgressDenied. A configured proxy is dialed
// without the check (see GuardProxy). An address of AllowLiterals is
// dialed when addr names it as an IP literal, not when addr's name
// resolves to it.
//
// A zero SafeDialer (not made by NewSafeDialer) has no address rules: it
// dials nothing and returns a *ConfigError, rather than connecting to any
// address as a plain net.Dialer would.
func (sd *SafeDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if sd.guard == nil {
		return nil, zeroErr(sd)
	}
	if sd.proxies != nil {
		if h, p, err := net.SplitHostPort(addr); err == nil && sd.proxies[proxyKey(h, p)] {
			return sd.plain.DialContext(ctx, network, addr)
		}
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil || h == "" {
		return sd.d.DialContext(ctx, network, addr) // net.Dialer's error, or the local system
	}
	if a, err := netip.ParseAddr(h); err == nil {
		if sd.literals != nil && sd.isLiteral(a) {
			// An IP literal of AllowLiterals, which Go dials without
			// resolving: allowed as that literal (controlLiteral).
			return sd.lit.DialContext(ctx, network, addr)
		}
		return sd.d.DialContext(ctx, network, addr)
	}
	if network == "tcp" || network == "tcp4" || network == "tcp6" {
		// A name: resolved here, its denied addresses left out
		// (dialName), whatever it resolves to checked by sd.d.
		return sd.dialName(ctx, network, h, p)
	}
	return sd.d.DialContext(ctx, network, addr) // refused by control
}
