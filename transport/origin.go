package transport

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/securecall/securecall/internal/hostname"
)

// Origin is an RFC 6454 origin: scheme, lower-case host and explicit port.
// A fully qualified name's trailing dot is removed ("api.example.com." is
// the host "api.example.com", as for the egress allowlist, certificate
// verification and pinning); only one, so "api.example.com.." stays
// another host. An internationalised name is held in its ASCII (punycode)
// form, the name net/http dials and sends ("bücher.example" is the host
// "xn--bcher-kva.example", as for HostKey and the egress allowlist).
// The zero Origin matches nothing.
type Origin struct {
	Scheme string // "https" or "http"
	Host   string // lower-case ASCII host name (no trailing dot) or IP literal, without brackets (an IPv6 zone as written)
	Port   string // always explicit: "443" for https, "80" for http by default
}

// String returns the origin in its serialised form, e.g. "https://api.example.com:443".
func (o Origin) String() string {
	if o.Scheme == "" {
		return ""
	}
	return o.Scheme + "://" + net.JoinHostPort(o.Host, o.Port)
}

// OriginOf returns the origin of u. Default ports are made explicit so
// "https://a" and "https://a:443" are the same origin, one trailing dot of
// the host is removed so "https://a." and "https://a" are too, and an
// internationalised name is converted to punycode so "https://bücher.example"
// and "https://xn--bcher-kva.example" are too. A non-ASCII name that is
// not a valid internationalised name (which net/http refuses to send) only
// has its ASCII letters lower-cased, so it matches no configured origin;
// ParseOrigin refuses it. An IPv6 address's zone is kept as written
// ("fe80::1%ETH0"): it names an interface, and "eth0" is another one.
func OriginOf(u *url.URL) Origin {
	if u == nil {
		return Origin{}
	}
	h := u.Hostname()
	host, _ := originHost(h)
	return originWithHost(u, zoneAsWritten(h, host))
}

// zoneAsWritten returns host (originHost(h)) with the IPv6 zone of h, if h
// is an IPv6 address with one ("fe80::1%ETH0"), as h writes it: a zone
// names an interface, and interface names are case-sensitive ("eth0" and
// "ETH0" are two links), so lower-casing it would make two hosts one.
func zoneAsWritten(h, host string) string {
	i := strings.IndexByte(h, '%')
	if i < 0 || strings.IndexByte(h[:i], ':') < 0 || len(host) != len(h) {
		return host
	}
	return host[:i] + h[i:]
}

// originWithHost is OriginOf(u) with its host given: host must be
// zoneAsWritten(u.Hostname(), originHost(u.Hostname())).
func originWithHost(u *url.URL, host string) Origin {
	scheme := lowerScheme(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return Origin{Scheme: scheme, Host: host, Port: port}
}

// lowerScheme returns strings.ToLower(s), without a call for the usual
// scheme, already lower-case.
func lowerScheme(s string) string {
	if s == "https" || s == "http" {
		return s
	}
	return strings.ToLower(s)
}

// originHost returns the host name h as an Origin holds it: in its ASCII
// form (punycode, as net/http converts it with idna.Lookup before it dials
// and sends it), lower-case, without one trailing dot. ok is false when h
// is not ASCII and does not convert; h then only has its ASCII letters
// lower-cased (Unicode lower-casing would turn some names into another,
// ASCII host: "\u212A_svc.internal", with a KELVIN SIGN, into
// "k_svc.internal", while net/http dials the name as written). An ASCII
// h costs no allocation unless it has an upper-case letter.
func originHost(h string) (host string, ok bool) {
	// One pass for the usual host, ASCII and already lower-case: it is
	// its own lower-case form (strings.ToLower returns it as it is).
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return originHostSlow(h)
		}
	}
	return strings.TrimSuffix(h, "."), true
}

// originHostSlow is originHost for a host that is not ASCII or has an
// upper-case letter.
func originHostSlow(h string) (host string, ok bool) {
	if !isASCII(h) {
		a, err := hostname.ToASCII(h)
		if err != nil {
			return strings.TrimSuffix(lowerASCII(h), "."), false
		}
		h = a
	}
	return strings.TrimSuffix(strings.ToLower(h), "."), true
}

// ParseOrigin parses "https://host[:port]". A path other than "/", a query,
// a fragment or userinfo is an error, as is a scheme other than http/https,
// a port outside 1-65535 or written with leading zeros, a non-ASCII
// host that is not a valid internationalised name (IDNA2008 lookup, as
// net/http converts it), and an IP address not in its standard form: an
// IPv4 address in a legacy form ("https://127.1", "https://2130706433",
// "https://0x7f.0.0.1") or an IPv6 address not in its RFC 5952 form
// ("https://[0::1]"): the address has one standard spelling, and Go's own
// resolver resolves no legacy IPv4 form (the cgo one, getaddrinfo, does,
// to the address; Origins.Allows matches a request to
// any spelling of an IPv6 address, never a legacy IPv4 form); the error names the
// origin to write ("https://127.0.0.1", "https://[::1]"). A host that
// ends in a number but is no valid IPv4 address ("https://256.1.1.1",
// "https://1.2.3.4.5") is an error too: Go's own resolver looks no
// all-numeric name up, and a proxy reads it as a failed address. Hex digits in
// upper case are taken, lower-cased like a name. A valid internationalised
// name is held in its punycode form.
// Error messages never repeat the input, which may hold a secret.
func ParseOrigin(s string) (Origin, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Origin{}, errors.New("transport: origin: not a valid URL")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return Origin{}, errors.New("transport: origin: scheme must be https or http")
	}
	if u.Host == "" || u.Hostname() == "" {
		return Origin{}, errors.New("transport: origin: missing host")
	}
	if u.User != nil {
		return Origin{}, errors.New("transport: origin: must not carry userinfo")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return Origin{}, fmt.Errorf("transport: origin %s: must be scheme://host[:port] only", OriginOf(u))
	}
	// A port net/http would dial as another number ("0443" as 443) or not
	// at all would give an origin no request URL ever matches.
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
			return Origin{}, errors.New("transport: origin: port must be 1-65535, without leading zeros")
		}
	}
	if _, ok := originHost(u.Hostname()); !ok {
		return Origin{}, errors.New("transport: origin: host is not a valid internationalised name")
	}
	o := OriginOf(u)
	if o.Host == "" { // "https://."
		return Origin{}, errors.New("transport: origin: missing host")
	}
	if std, ok := ipStandardForm(o.Host); ok {
		// An Origin holds an address in its one standard form (OriginOf
		// and Origins.Allows compare by it), and a legacy IPv4 form
		// would match only URLs spelled the same way (Go's own resolver
		// resolves it to nothing, the cgo one to the address). The address
		// is no secret: name the origin to write.
		h := std
		if strings.IndexByte(std, ':') >= 0 {
			h = "[" + strings.Replace(std, "%", "%25", 1) + "]"
		}
		if p := u.Port(); p != "" {
			h += ":" + p
		}
		return Origin{}, fmt.Errorf("transport: origin: an IP address not in its standard form: write %q", o.Scheme+"://"+h)
	}
	if mistypedIPv4(o.Host) {
		// As for an egress allowlist entry; the host is not repeated.
		return Origin{}, errors.New("transport: origin: host ends in a number but is not a valid IPv4 address")
	}
	return o, nil
}

// ipStandardForm returns the standard form of host (as an Origin holds
// it: lower-case, without one trailing dot, an IPv6 zone as written) when
// host is an IP address written otherwise: an IPv6 address not in its
// RFC 5952 form ("::1" for "0::1", "::ffff:127.0.0.1" for
// "::ffff:7f00:1"), an IPv4 address in a legacy form ("127.0.0.1" for
// "127.1", "2130706433", "0x7f.0.0.1" or "0177.0.0.1", as HostKey reads
// them). ok is false for a name and for an address in its standard form.
func ipStandardForm(host string) (std string, ok bool) {
	if strings.IndexByte(host, ':') >= 0 {
		a, err := netip.ParseAddr(host)
		if err != nil || a.String() == host {
			return "", false
		}
		return a.String(), true
	}
	if k := ipv4Key(host); k != host {
		return k, true
	}
	return "", false
}

// Scope answers, for every hop of every request, "may a credential (a token,
// an API key, a signature) be sent to this URL?". Credential layers ask it on
// each RoundTrip, so a redirect hop to an origin outside the scope gets no
// credential even though http.Client runs the whole stack again for it.
// When the request's Host names another authority than its URL, they ask
// it for that authority too (as a URL with the request's scheme; a Host
// that is the URL's non-ASCII host in its IDNA lookup form, which the
// signer sets, names the URL's own): the credential goes only when both
// are allowed, since a virtual-hosting front end routes the request by
// Host. An authority (URL or Host) with
// brackets around anything but an IPv6 literal ("[api.example.com]") gets
// no credential, whatever the Scope says: Allows would see it without the
// brackets, but net/http sends them.
type Scope interface {
	Allows(u *url.URL) bool
}

// scopeAllows reports whether s lets req receive a credential: its URL,
// and the authority it goes to, which is req.Host when that is set
// (net/http sends it as Host or :authority, and a virtual-hosting front
// end routes the request by it, to another tenant or another host behind
// the same address), and the absolute-form request-target a hand-set
// URL.Opaque makes ("//evil.example/x", see opaqueTarget), which a server
// reads over the Host and a proxy connects. A Host that differs from the
// URL's is checked as the origin it names with the URL's scheme (a Host without a port names the
// scheme's default port), through s, so it is normalised as a URL is
// (case, one trailing dot, punycode); one that is not a plain host[:port]
// (userinfo, a path) matches no origin.
//
// An authority with brackets that do not hold an IPv6 literal
// ("[api.example.com]:443", in the Host or a hand-built URL.Host) matches
// no origin either: url.URL.Hostname strips any brackets, so the Scope
// would see api.example.com, but net/http sends the authority as written
// and a front end does not route it to that host (see bracketsOK).
func scopeAllows(s Scope, req *http.Request) bool {
	if req.URL == nil || !bracketsOK(req.URL.Host) || !s.Allows(req.URL) {
		return false
	}
	if req.URL.Opaque != "" {
		if t, ok, err := opaqueTarget(req.URL); err != nil || ok && (!bracketsOK(t.Host) || !s.Allows(t)) {
			return false
		}
	}
	if req.Host == "" || req.Host == req.URL.Host {
		return true
	}
	if h, err := hostname.HostPort(req.URL.Host); err == nil && h == req.Host {
		// The URL's non-ASCII host in its IDNA lookup form, as the Base
		// sends it and the signer sets it as the Host (on the attempt's
		// request, which an inner replay sends through the layers
		// again): the URL's own authority.
		return true
	}
	if strings.ContainsAny(req.Host, "@/?#\\ ") || !bracketsOK(req.Host) {
		return false
	}
	return s.Allows(&url.URL{Scheme: req.URL.Scheme, Host: req.Host})
}

// opaqueTarget returns the absolute-form request-target a hand-set
// u.Opaque makes, ok false when it makes none. net/http writes Opaque as
// the request-target, one starting with "//" prefixed with the scheme
// ("//evil.example/x" is "http://evil.example/x"); a server reads the
// host of an absolute-form target over the Host header (RFC 9112
// §3.2.2), and a forward proxy connects it, so such a target is where the
// request goes. An origin-form ("/x") or asterisk-form ("*") target, or
// a relative one, names no host. Only the scheme and authority say where
// the request goes: a path or query that is no valid URL ("/100%", which
// only Opaque can send as written) is left out of t rather than refused.
// err: a target whose scheme and authority do not parse, or one with a
// '#'.
func opaqueTarget(u *url.URL) (t *url.URL, ok bool, err error) {
	o := u.Opaque
	if o == "" || o[0] == '/' && !strings.HasPrefix(o, "//") {
		return nil, false, nil
	}
	rt := u.RequestURI()
	if strings.IndexByte(rt, '#') >= 0 {
		// No target holds a fragment, and where one holds a '#' parsers
		// disagree on its host ("//a.example#@b.example/": url.Parse
		// reads a.example, a parser splitting at the last '@'
		// b.example).
		return nil, false, errFragmentTarget
	}
	t, err = url.Parse(rt)
	if err != nil {
		// Parse the scheme and authority alone: "https://host/100%" is
		// "https://host".
		if i := strings.Index(rt, "://"); i > 0 {
			auth := rt[i+len("://"):]
			if j := strings.IndexAny(auth, "/?"); j >= 0 {
				auth = auth[:j]
			}
			t, err = url.Parse(rt[:i+len("://")] + auth)
		}
		if err != nil {
			return nil, false, err
		}
	}
	if t.Scheme == "" {
		// "*" or a relative path.
		return nil, false, nil
	}
	return t, true, nil
}

// errFragmentTarget: an absolute-form request-target (URL.Opaque) with a
// '#'.
var errFragmentTarget = errors.New("request-target has a '#'")

// bracketsOK reports whether the authority a (host[:port]) has brackets
// only as an IP-literal has them (RFC 3986 §3.2.2): around an IPv6
// address at its start, followed by nothing or ":port". url.Parse refuses
// anything else, but a hand-built URL.Host or a Host field is not parsed:
// url.URL.Hostname strips the brackets of "[api.example.com]", while
// net/http dials api.example.com and sends "[api.example.com]" as the
// Host, which no virtual host of that name matches (a front end routes it
// to its default host).
func bracketsOK(a string) bool {
	if strings.IndexByte(a, '[') < 0 && strings.IndexByte(a, ']') < 0 {
		return true
	}
	end := strings.IndexByte(a, ']')
	if a[0] != '[' || end < 0 || strings.ContainsAny(a[end+1:], "[]") || end+1 < len(a) && a[end+1] != ':' {
		return false
	}
	ip, err := netip.ParseAddr(a[1:end])
	return err == nil && ip.Is6()
}

// openScope returns why a credential layer (auth, API key, signing) must
// not take s as its Scope, or "": an *EgressPolicy without an allowlist
// allows every https host, so the credential would go to every host the
// service calls (a URL a user supplied included), and a nil one cannot
// answer at all.
func openScope(s Scope) string {
	if p, ok := s.(*EgressPolicy); ok && (p == nil || p.any) {
		return "an EgressPolicy without an allowlist allows every host: the credential would go to any of them"
	}
	return ""
}

// Origins is a Scope listing exact origins. Credentials go only over https
// unless an origin with scheme "http" is listed explicitly (loopback tests).
type Origins []Origin

// Allows reports whether u's origin is one of o. It names the same
// destination in any spelling Go dials to the same place, as HostKey
// does: an IPv6 address out of its RFC 5952 form ("https://[0::1]"), an
// IPv4-mapped address and its IPv4 address ("https://[::ffff:10.0.0.5]"
// and "https://10.0.0.5"), a port with leading zeros ("https://a:0443" is
// "https://a"). An IPv6 zone is matched as written, a legacy IPv4 form
// ("https://127.1", which Go's own resolver resolves to nothing and the
// cgo one to the address) matches no address, and a port is a port:
// ":8443" is not ":443".
func (o Origins) Allows(u *url.URL) bool {
	if u == nil {
		return false
	}
	if (u.Scheme == "https" || u.Scheme == "http") && plainAuthority(u.Host) {
		// The common case, a URL already in an Origin's form (lower-case
		// ASCII host, no trailing dot, no brackets, a port without a
		// leading zero): compare it as written,
		// with no Origin built. A miss falls through to the full check, so
		// the answer is OriginOf's either way.
		for _, want := range o {
			if want.Scheme == u.Scheme && authorityIs(u.Host, want) {
				return true
			}
		}
	}
	got := destOrigin(OriginOf(u))
	if got.Scheme == "" || got.Host == "" {
		return false // relative URLs and the zero Origin match nothing
	}
	for _, want := range o {
		if want == got || sameDest(want, got) {
			return true
		}
	}
	return false
}

// destOrigin returns o with its host and port in the form that names the
// destination Go dials, as HostKey has them: the port without leading
// zeros ("0443" is dialed as 443) and the host through destHost. A
// legacy IPv4 form ("127.1") is kept as written, so it names no
// configured address: Go's own resolver takes it for a name and dials
// nothing (isDomainName refuses an all-numeric name); the cgo one
// resolves it to the address, which the dialer then checks.
func destOrigin(o Origin) Origin {
	o.Port = destPort(o.Port)
	o.Host = destHost(o.Host)
	return o
}

// sameDest reports whether the origin want, an IPv6 address out of the
// form destHost gives (an IPv4-mapped address, or a hand-built Origin),
// names the destination got (from destOrigin) names.
func sameDest(want, got Origin) bool {
	return strings.IndexByte(want.Host, ':') >= 0 && want.Scheme == got.Scheme && want.Port == got.Port && destHost(want.Host) == got.Host
}

// destPort returns the port p without leading zeros, as Go dials it
// ("0443" is 443; "0" stays "0").
func destPort(p string) string {
	for len(p) > 1 && p[0] == '0' {
		p = p[1:]
	}
	return p
}

// destHost returns host (as an Origin holds it: without brackets, an IPv6
// zone as written) in the form that names the destination Go dials: an
// IPv6 address in its RFC 5952 form ("::1" for "0::1"), its zone as
// written (an interface name, case-sensitive), and an IPv4-mapped address
// without a zone as its IPv4 address ("127.0.0.1" for "::ffff:7f00:1":
// Go dials it over IPv4). A name, an IPv4 address and a host that does
// not parse are returned as they are. A mapped address with a zone keeps
// it (and stays IPv6): a zone is matched only as written.
func destHost(host string) string {
	if strings.IndexByte(host, ':') < 0 {
		return host
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if d := dialedAddr(a); d != a {
		return d.String()
	}
	if s := a.String(); s != host {
		return s // netip keeps the zone as written
	}
	return host
}

// plainAuthority reports whether the authority a is written as OriginOf
// would hold it: a non-empty host of lower-case ASCII letters, digits, '-',
// '.' and '_', not ending in '.', then nothing or ':' and a port of
// digits not starting with '0'. For such an authority, comparing as written gives OriginOf's
// answer.
func plainAuthority(a string) bool {
	i := 0
	for ; i < len(a); i++ {
		c := a[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			break
		}
	}
	if i == 0 || a[i-1] == '.' {
		return false // no host, or a trailing dot (OriginOf removes it)
	}
	if i == len(a) {
		return true
	}
	if a[i] != ':' || i+1 == len(a) || a[i+1] == '0' {
		return false // a port with a leading zero: destPort strips it
	}
	for _, c := range []byte(a[i+1:]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// authorityIs reports whether the plain authority a (see plainAuthority)
// names want's host and port: "host" for the scheme's default port, or
// "host:port". want must be in its canonical form (as ParseOrigin makes
// it) to match: a hand-built Origin with an upper-case host matches no
// plain authority, as it matches no OriginOf; so does one with a port
// written with leading zeros.
func authorityIs(a string, want Origin) bool {
	h := want.Host
	if len(a) < len(h) || a[:len(h)] != h {
		return false
	}
	if len(a) == len(h) {
		return want.Scheme == "https" && want.Port == "443" || want.Scheme == "http" && want.Port == "80"
	}
	return a[len(h)] == ':' && a[len(h)+1:] == want.Port
}

// ParseOrigins parses each string with ParseOrigin.
func ParseOrigins(ss ...string) (Origins, error) {
	out := make(Origins, 0, len(ss))
	for _, s := range ss {
		o, err := ParseOrigin(s)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}
