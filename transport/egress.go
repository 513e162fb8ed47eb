package transport

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/securecall/securecall/internal/ascii"
	"github.com/securecall/securecall/internal/querykey"
	"github.com/securecall/securecall/internal/redact"
)

// EgressConfig configures NewEgress, NewEgressPolicy and
// NewCredentialGuard. The zero value allows any https destination and
// refuses plain http.
type EgressConfig struct {
	// Allow is the egress allowlist: the hosts requests (and every
	// redirect hop) may go to. Each entry is "[scheme://]host[:port]":
	//
	//   - host is a DNS name ("api.example.com"), an IP literal
	//     ("192.0.2.10", "[2001:db8::1]"; an IPv4 address in a legacy
	//     form, "127.1", "2130706433" or "0x7f.0.0.1", is a *ConfigError
	//     naming its dotted-decimal form, since a URL spelling the address
	//     otherwise would not match it), or "*." followed by a domain of at
	//     least two labels whose last is no number, decimal or hex ("0x7f":
	//     the names below it would be IPv4 addresses) ("*.example.com"),
	//     which matches every name below
	//     that domain at any depth (a.example.com, a.b.example.com) but not
	//     example.com itself;
	//   - port is a number or "*" (any port); omitted, it is the default
	//     port of the request's scheme (443 for https, 80 for http);
	//   - scheme is "https" or "http"; omitted, the entry matches https, and
	//     plain http too when AllowHTTP is set.
	//
	// Names are compared case-insensitively, after removing one trailing
	// dot and converting internationalised names to their ASCII (punycode)
	// form, the form net/http dials. IP literals are compared as addresses,
	// so "[::1]" matches "[0:0::1]", and an IPv4-mapped address as its
	// IPv4 address (Go dials it over IPv4), so "127.0.0.1" matches
	// "[::ffff:127.0.0.1]" and the other way (a URL's IPv6 zone is kept:
	// no entry has one); a name never matches an address. An entry
	// spelling an IPv4 address in a legacy form ("127.1") is a
	// ConfigError naming the form to write, and one that ends in a number
	// but is no valid IPv4 address ("256.1.1.1", "1.2.3.4.5") is a
	// ConfigError: Go's own resolver looks no all-numeric name up. A
	// URL's port is
	// compared as the number Go dials: ":0443" is ":443".
	//
	// Empty: any host is allowed (the scheme rules still apply); pair it
	// with the SSRF-safe dialer (NewSafeDialer), which checks the addresses
	// names resolve to.
	Allow []string
	// AllowHTTP lets requests use plain http (to an allowed host). Meant for
	// loopback tests and sidecars on the same host. Even then a plain-http
	// request carrying a credential (see CredentialHeaders) is refused.
	// Zero: https only.
	AllowHTTP bool
	// CredentialHeaders are header names, besides the built-in ones
	// (Authorization, Proxy-Authorization, Cookie, Signature,
	// Signature-Input, X-Api-Key and the other headers of
	// redact.CredentialHeader), that carry a credential and so are never
	// sent over plain http: an API-key header of your own, for example.
	CredentialHeaders []string
	// CredentialQueryKeys are query parameter names that carry a credential
	// (an API key in the query) and so are never sent over plain http. A
	// parameter is taken for one when a common server would read it as one:
	// names are compared without case and percent-decoded, with "." and " "
	// read as "_", an array suffix ("api_key[]", "api_key[0]") ignored and
	// the brackets Rack skips around a name ("[api_key]", "api_key]")
	// dropped, so "Api.Key[]" and "[API_KEY]" are the key "api_key".
	CredentialQueryKeys []string
}

// EgressError reports a request refused by the egress policy before any
// connection was made. It wraps ErrEgressDenied. Origin is the refused
// destination (scheme://host:port), never the full URL, so no path or
// query, which may carry secrets, reaches the message.
type EgressError struct {
	Origin Origin
	Reason string
}

func (e *EgressError) Error() string {
	return "transport: egress denied: " + e.Origin.String() + ": " + e.Reason
}

func (e *EgressError) Unwrap() error { return ErrEgressDenied }

// Reasons of EgressError.
const (
	egressNotAllowed  = "host not on the egress allowlist"
	egressPort        = "port not allowed for this host"
	egressScheme      = "scheme not allowed (https only)"
	egressHTTP        = "plain http to this host is not allowed"
	egressBadHost     = "invalid host"
	egressHostHeader  = "Host header names a host not on the egress allowlist"
	egressHostUser    = "Host header holds userinfo"
	egressCleartext   = "credentials are never sent over plain http"
	egressNoURL       = "request has no URL"
	egressRelativeURL = "request URL is not absolute"
	egressProxyDirect = "a listed proxy is dialed only as the proxy, not as a direct destination"
	egressTarget      = "request-target (URL.Opaque) is not a valid URL"
	egressPath        = "URL path does not start with \"/\": a proxy reads it as part of the host"
)

// EgressPolicy is a compiled EgressConfig. It is safe for concurrent use
// and is itself a Scope (Allows), so a credential layer can be scoped to
// the allowlist; one without an allowlist (every host) is refused as a
// credential Scope with a *ConfigError.
type EgressPolicy struct {
	exact     map[string][]egressRule // normalised host -> rules
	wild      []egressRule            // rules of "*." patterns
	any       bool                    // no allowlist: every host
	allowHTTP bool
	credHdr   []string // canonical extra credential header names
	credQuery []string
	hosts     egressHostCache // per raw host name: what hostOf and the rules say
}

// egressRule is one allowlist entry.
type egressRule struct {
	suffix string // wildcard rules: ".example.com"
	scheme string // "", "https" or "http"
	port   string // "", "*" or a number
}

// NewEgressPolicy compiles cfg, or returns a *ConfigError naming the bad
// entry ("Allow[2]").
func NewEgressPolicy(cfg EgressConfig) (*EgressPolicy, error) {
	p := &EgressPolicy{exact: map[string][]egressRule{}, any: len(cfg.Allow) == 0, allowHTTP: cfg.AllowHTTP}
	for i, s := range cfg.Allow {
		opt := "Allow[" + strconv.Itoa(i) + "]"
		host, rule, err := parseEgressPattern(s)
		if err != nil {
			return nil, &ConfigError{Option: opt, Reason: err.Error()}
		}
		if rule.scheme == "http" && !cfg.AllowHTTP {
			return nil, &ConfigError{Option: opt, Reason: "an http entry needs AllowHTTP"}
		}
		if rule.suffix != "" {
			p.wild = append(p.wild, rule)
			continue
		}
		p.exact[host] = append(p.exact[host], rule)
		if a, err := netip.ParseAddr(host); err == nil && dialedAddr(a) != a {
			// "[::ffff:10.0.0.5]" is 10.0.0.5, the address Go dials and
			// hostOf matches; the IPv6 form stays for DialAllowances.
			k := dialedAddr(a).String()
			p.exact[k] = append(p.exact[k], rule)
		}
	}
	for i, h := range cfg.CredentialHeaders {
		c := http.CanonicalHeaderKey(strings.TrimSpace(h))
		if c == "" || strings.ContainsAny(c, " \t:") {
			return nil, &ConfigError{Option: "CredentialHeaders[" + strconv.Itoa(i) + "]", Reason: "not a header name"}
		}
		p.credHdr = append(p.credHdr, c)
	}
	for i, k := range cfg.CredentialQueryKeys {
		if queryKeyForm(k) == "" {
			return nil, &ConfigError{Option: "CredentialQueryKeys[" + strconv.Itoa(i) + "]", Reason: "empty"}
		}
		p.credQuery = append(p.credQuery, queryKeyForm(k))
	}
	return p, nil
}

// parseEgressPattern parses one allowlist entry. Errors never repeat the
// entry (configuration may come from a secret-bearing URL by mistake).
func parseEgressPattern(s string) (string, egressRule, error) {
	var r egressRule
	s = strings.TrimSpace(s)
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		switch strings.ToLower(scheme) {
		case "https", "http":
			r.scheme = strings.ToLower(scheme)
		default:
			return "", r, errorString("scheme must be https or http")
		}
		s = rest
	}
	if s == "" {
		return "", r, errorString("empty host")
	}
	if strings.ContainsAny(s, "/?#@\\ \t") {
		return "", r, errorString("must be [scheme://]host[:port], without path, query, fragment or userinfo")
	}
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", r, errorString("unclosed [ in IPv6 literal")
		}
		host, port = s[1:end], s[end+1:]
		if port != "" {
			if port[0] != ':' {
				return "", r, errorString("junk after IPv6 literal")
			}
			port = port[1:]
			if port == "" {
				return "", r, errorString("empty port")
			}
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", r, errorString("not an IPv6 address (zones are not allowed)")
		}
		host = a.String()
	} else {
		if i := strings.LastIndexByte(s, ':'); i >= 0 {
			host, port = s[:i], s[i+1:]
			if strings.Contains(host, ":") {
				return "", r, errorString("IPv6 literals must be in brackets")
			}
			if port == "" {
				return "", r, errorString("empty port")
			}
		}
		if strings.HasPrefix(host, "*.") {
			d, err := normaliseName(host[2:])
			if err != nil {
				return "", r, err
			}
			if !strings.Contains(d, ".") {
				return "", r, errorString("a wildcard needs a domain of at least two labels")
			}
			if isNumberPart(d[strings.LastIndexByte(d, '.')+1:]) {
				// A decimal or hex ("0x7f") last label: the names below
				// it are IPv4 addresses in a legacy form ("127.0.0x1").
				return "", r, errorString("a wildcard cannot cover IP addresses")
			}
			r.suffix = "." + d
			host = ""
		} else if a, err := netip.ParseAddr(host); err == nil {
			host = a.String()
		} else {
			if host, err = normaliseName(host); err != nil {
				return "", r, err
			}
			if k := ipv4Key(host); k != host {
				// "127.1", "2130706433", "0x7f.0.0.1": an IPv4 address in
				// a legacy form, which hostOf takes for a name, so the
				// entry would allow only URLs spelled the same way (which
				// Go's own resolver does not resolve; the cgo one,
				// getaddrinfo, resolves it to the address). The address is no
				// secret: name the form to write.
				return "", r, errorString("an IPv4 address in a legacy form matches only a URL spelled the same way: write " + strconv.Quote(k))
			}
			if mistypedIPv4(host) {
				// GuardProxy refuses such a host too.
				return "", r, errorString("ends in a number but is not a valid IPv4 address")
			}
		}
	}
	if port != "" && port != "*" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return "", r, errorString("port must be 1-65535 or *")
		}
	}
	r.port = port
	return host, r, nil
}

// errorString is a constant error; parse errors are wrapped in a
// *ConfigError that adds the package prefix.
type errorString string

func (e errorString) Error() string { return string(e) }

// normaliseName converts an internationalised name to its ASCII form as
// net/http does for dialing, removes one trailing dot, lower-cases the
// name and checks its characters.
func normaliseName(h string) (string, error) {
	if !isASCII(h) && !utf8.ValidString(h) {
		return "", errorString("host is not valid UTF-8")
	}
	h, ok := originHost(h)
	if !ok {
		return "", errorString("host is not a valid internationalised name")
	}
	if h == "" {
		return "", errorString("empty host")
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", errorString("host has characters a DNS name cannot have")
		}
	}
	if strings.Contains(h, "..") || h[0] == '.' {
		return "", errorString("host has an empty label")
	}
	return h, nil
}

func isASCII(s string) bool { return ascii.Is(s) }

// hostOf returns hostname in the form the allowlist uses: an IP address
// in its standard form, an IPv4-mapped IPv6 address without a zone as its
// IPv4 address (Go dials it over IPv4), as HostKey names them; a name as
// normaliseName gives it (a legacy IPv4 form, which Go's own resolver
// resolves to nothing and the cgo one to the address, the dialer checking
// that address, stays a name no entry has).
func hostOf(hostname string) (string, bool) {
	if hostname == "" {
		return "", false
	}
	if strings.IndexByte(hostname, ':') >= 0 || hostname[len(hostname)-1] >= '0' && hostname[len(hostname)-1] <= '9' {
		if a, err := netip.ParseAddr(hostname); err == nil {
			return dialedAddr(a).String(), true // zones kept: no entry has one
		}
	}
	h, err := normaliseName(hostname)
	if err != nil {
		return "", false
	}
	return h, true
}

// Allows reports whether the policy lets a request go to u. It makes p a
// Scope.
func (p *EgressPolicy) Allows(u *url.URL) bool {
	return p.CheckURL(u) == nil
}

// CheckURL returns nil when the policy lets a request go to u, else an
// *EgressError. It does not look at headers; Check does.
func (p *EgressPolicy) CheckURL(u *url.URL) error {
	return withoutUserinfo(p.checkURL(u))
}

// withoutUserinfo returns err with the userinfo removed from its Origin's
// host when it is an *EgressError: a Host built by hand (URL.Host or the
// Host field) may hold userinfo ("user:pass@host", which url.Parse would
// have put in User), and such a host is refused as invalid, but the
// credential must not reach the message, as the audit record and the
// inventory keep it out too.
func withoutUserinfo(err error) error {
	if e, ok := err.(*EgressError); ok {
		if i := strings.LastIndexByte(e.Origin.Host, '@'); i >= 0 {
			e.Origin.Host = e.Origin.Host[i+1:]
		}
	}
	return err
}

func (p *EgressPolicy) checkURL(u *url.URL) error {
	if u == nil {
		return &EgressError{Reason: egressNoURL}
	}
	// The raw host name, not o.Host: OriginOf removes one trailing dot,
	// and hostOf removes one, so "a.example.com.." would otherwise pass as
	// "a.example.com".
	h := p.hostInfo(u.Hostname())
	o := originWithHost(u, h.origin) // OriginOf(u), its host from the cache
	o.Port = destPort(o.Port)        // "0443" is dialed as 443
	if o.Host == "" || o.Scheme == "" {
		return &EgressError{Origin: o, Reason: egressRelativeURL}
	}
	if !bracketsOK(u.Host) {
		// Hostname stripped brackets that hold no IPv6 literal (a
		// hand-built Host): net/http sends them, see bracketsOK.
		return &EgressError{Origin: o, Reason: egressBadHost}
	}
	switch o.Scheme {
	case "https":
	case "http":
		if !p.allowHTTP {
			return &EgressError{Origin: o, Reason: egressScheme}
		}
	default:
		return &EgressError{Origin: o, Reason: egressScheme}
	}
	return p.checkHost(o, h)
}

// checkHost checks a host (h: the findings for its raw name, from a URL or
// a Host header) with o's scheme and port against the allowlist.
func (p *EgressPolicy) checkHost(o Origin, h *egressHost) error {
	if !h.valid {
		return &EgressError{Origin: o, Reason: egressBadHost}
	}
	if p.any {
		return nil
	}
	// h.rules holds the host's exact rules and the wildcard rules covering
	// it; the reason does not depend on their order.
	reason := egressNotAllowed
	for _, r := range h.rules {
		switch p.matchRule(r, o) {
		case matchOK:
			return nil
		case matchPort:
			reason = egressPort
		case matchScheme:
			if reason == egressNotAllowed {
				reason = egressHTTP
			}
		}
	}
	return &EgressError{Origin: o, Reason: reason}
}

type ruleMatch int

const (
	matchOK ruleMatch = iota
	matchScheme
	matchPort
)

func (p *EgressPolicy) matchRule(r egressRule, o Origin) ruleMatch {
	switch r.scheme {
	case "":
		if o.Scheme != "https" && !(o.Scheme == "http" && p.allowHTTP) {
			return matchScheme
		}
	default:
		if r.scheme != o.Scheme {
			return matchScheme
		}
	}
	switch r.port {
	case "*":
		return matchOK
	case "":
		if (o.Scheme == "https" && o.Port == "443") || (o.Scheme == "http" && o.Port == "80") {
			return matchOK
		}
		return matchPort
	default:
		if r.port == o.Port {
			return matchOK
		}
		return matchPort
	}
}

// Check returns nil when the policy lets req go out, else an *EgressError:
// the URL must pass CheckURL, a Host header that names another host must
// name an allowed one (for a plain-http request whose Host has a port, with
// that port, which a forward proxy connects; otherwise with the URL's
// port) and hold no userinfo ("user:pass@host", set by
// hand, which net/http would send as written), an absolute-form request-target from a hand-set
// URL.Opaque ("//host/path", "https://host/path"), which a server reads
// over the Host header and a proxy connects, must pass CheckURL too, a
// plain-http request's URL path (built by hand) must start with "/" (a
// proxy reads "http://" + host + path, so "@169.254.169.254/x" would name
// another host), and a plain-http request must carry no credential.
func (p *EgressPolicy) Check(req *http.Request) error {
	if err := p.CheckURL(req.URL); err != nil {
		return err
	}
	if req.Host != "" && req.Host != req.URL.Host {
		o := OriginOf(req.URL)
		o.Port = destPort(o.Port) // as checkURL compares it
		if !bracketsOK(req.Host) {
			return &EgressError{Origin: o, Reason: egressHostHeader}
		}
		if strings.IndexByte(req.Host, '@') >= 0 {
			// "user:pass@host" (set by hand): no Host holds userinfo,
			// and its split at the last colon would read the host
			// "user". Not quoted: o is the URL's origin.
			return &EgressError{Origin: o, Reason: egressHostUser}
		}
		h, port := req.Host, ""
		if hh, pp, err := net.SplitHostPort(h); err == nil {
			h, port = hh, pp
		} else if len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']' {
			h = h[1 : len(h)-1] // an IPv6 literal without a port
		}
		ho := o
		if port != "" && lowerScheme(req.URL.Scheme) == "http" {
			// Through a forward proxy, net/http sends a plain-http
			// request as "http://" + Host + path, and the proxy connects
			// the Host's port ("api.example.test:6379"): the egress
			// layer cannot know whether a proxy follows. A Host without
			// a port is checked with the URL's, which a direct call
			// dials (a virtual host on http://10.0.0.5:8080/); a proxy
			// connects port 80 of that allowed name then. An https
			// request's CONNECT goes to URL.Host.
			ho.Port = destPort(port)
		}
		if err := p.checkHost(ho, p.hostInfo(h)); err != nil {
			return &EgressError{Origin: o, Reason: egressHostHeader}
		}
	}
	if req.URL.Opaque != "" {
		if err := p.checkTarget(req.URL); err != nil {
			return err
		}
	}
	if pathJoinsHost(req.URL) && lowerScheme(req.URL.Scheme) == "http" {
		// The egress layer cannot know whether a proxy follows.
		o := OriginOf(req.URL)
		o.Port = destPort(o.Port)
		return &EgressError{Origin: o, Reason: egressPath}
	}
	return p.checkCleartext(req)
}

// pathJoinsHost reports whether u's escaped path, which net/http writes
// right after "http://" + host in the request-target of a plain-http
// request sent through a forward proxy, would continue that host: a URL
// built by hand (&url.URL{Host: h, Path: p}) whose path does not start
// with "/" ("@169.254.169.254/x" makes "http://h@169.254.169.254/x",
// ":6379/x" another port, ".evil.example/x" another host). An empty path
// (sent as "/"), "*" (OPTIONS *) and a hand-set Opaque (sent as it is,
// checked as the target it makes) are not.
func pathJoinsHost(u *url.URL) bool {
	if u.Opaque != "" {
		return false
	}
	p := u.Path
	if u.RawPath != "" {
		p = u.EscapedPath()
	}
	return p != "" && p != "*" && p[0] != '/'
}

// checkTarget checks the absolute-form request-target a hand-set
// URL.Opaque makes (see opaqueTarget): it must itself pass CheckURL
// (scheme, host and port).
func (p *EgressPolicy) checkTarget(u *url.URL) error {
	tu, ok, err := opaqueTarget(u)
	if err != nil {
		return &EgressError{Origin: OriginOf(u), Reason: egressTarget}
	}
	if !ok {
		return nil
	}
	if err := p.CheckURL(tu); err != nil {
		if e, ok := err.(*EgressError); ok {
			e.Reason = "request-target (URL.Opaque): " + e.Reason
		}
		return err
	}
	return nil
}

// checkCleartext refuses a request that is not https and carries a
// credential: URL userinfo or userinfo in a Host set by hand, a
// credential header or trailer field, or a credential query parameter, in
// the URL or in the request-target a hand-set URL.Opaque makes.
func (p *EgressPolicy) checkCleartext(req *http.Request) error {
	if req.URL == nil || req.URL.Scheme == "https" {
		return nil
	}
	deny := func() error {
		// A URL.Host built by hand may hold userinfo: never quoted.
		return withoutUserinfo(&EgressError{Origin: OriginOf(req.URL), Reason: egressCleartext})
	}
	if req.URL.User != nil || strings.IndexByte(req.Host, '@') >= 0 {
		// A Host set by hand with userinfo ("user:pass@host") is sent
		// as written, in the Host header.
		return deny()
	}
	for name := range req.Header {
		if isCredentialHeader(name) || containsFold(p.credHdr, name) {
			return deny()
		}
	}
	// A trailer field goes on the wire like a header field, after the
	// body; its names are declared before the body is sent (its values may
	// be filled while it is read), so the names alone decide.
	for name := range req.Trailer {
		if isCredentialHeader(name) || containsFold(p.credHdr, name) {
			return deny()
		}
	}
	if len(p.credQuery) > 0 && hasQueryKey(req.URL.RawQuery, p.credQuery) {
		return deny()
	}
	if req.URL.Opaque != "" && p.opaqueHasCredential(req.URL.Opaque) {
		return deny()
	}
	return nil
}

// opaqueHasCredential reports whether a hand-set URL.Opaque, which net/http
// sends as the request-target as it is (then "?" and URL.RawQuery), carries
// a credential: userinfo in the authority of an absolute-form target
// ("//user:pw@host/x", "http://user:pw@host/x"), or a credential query
// parameter in the query it holds ("/x?api_key=k").
func (p *EgressPolicy) opaqueHasCredential(o string) bool {
	target, query, _ := strings.Cut(o, "?")
	var auth string
	if strings.HasPrefix(target, "//") {
		auth = target[2:]
	} else if i := strings.Index(target, "://"); i > 0 && target[0] != '/' {
		auth = target[i+3:]
	}
	if i := strings.IndexByte(auth, '/'); i >= 0 {
		auth = auth[:i]
	}
	if strings.IndexByte(auth, '@') >= 0 {
		return true
	}
	return len(p.credQuery) > 0 && hasQueryKey(query, p.credQuery)
}

// hasQueryKey reports whether the raw query has a parameter that a common
// server reads as one of keys (given in queryKeyForm). Not url.ParseQuery,
// which skips a whole pair holding a semicolon or a bad percent-escape
// ("api_key=k;v=1", "api_key=%zz") while net/http sends the query as
// written and servers read the key from it: pairs are split at "&" and
// ";", a key that does not unescape is compared as written, and each name
// is compared as queryName reads it, in the forms of queryNameForms, both
// as written and as Rack reads it (rackName).
func hasQueryKey(rawQuery string, keys []string) bool {
	for rawQuery != "" {
		var pair string
		if i := strings.IndexAny(rawQuery, "&;"); i >= 0 {
			pair, rawQuery = rawQuery[:i], rawQuery[i+1:]
		} else {
			pair, rawQuery = rawQuery, ""
		}
		k, _, _ := strings.Cut(pair, "=")
		if k != "" && readsAsQueryKey(k, keys) {
			return true
		}
	}
	return false
}

// readsAsQueryKey reports whether a common server reads the raw
// parameter name k as one of keys (given in queryKeyForm): see
// querykey.ReadsAs.
func readsAsQueryKey(k string, keys []string) bool { return querykey.ReadsAs(k, keys) }

// queryKeyForm is the form a configured credential query key is compared
// in: see querykey.Form.
func queryKeyForm(k string) string { return querykey.Form(k) }

// isCredentialHeader reports whether name is a built-in credential header
// (redact.CredentialHeader: Authorization, cookies, RFC 9421 signatures,
// the common API-key and token headers), which never travels over plain
// http, never reaches a foreign redirect hop and is never shown in
// telemetry.
func isCredentialHeader(name string) bool { return redact.CredentialHeader(name) }

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// NewEgress returns the egress guard layer: every request, and so every
// redirect hop (http.Client runs the stack again for each), is checked
// with the policy of cfg (see EgressPolicy.Check) before anything is sent;
// a refused request fails with an *EgressError wrapping ErrEgressDenied,
// its body closed, and next is not called. It belongs to the per-call
// "prepare" step of a stack, above the retry layer: a refusal is final.
//
// Bad configuration is a *ConfigError.
func NewEgress(next http.RoundTripper, cfg EgressConfig) (http.RoundTripper, error) {
	if err := checkNext(next); err != nil {
		return nil, err
	}
	p, err := NewEgressPolicy(cfg)
	if err != nil {
		return nil, err
	}
	return NewEgressWithPolicy(next, p), nil
}

// NewEgressWithPolicy is NewEgress with a compiled policy, which a client
// shares with its redirect check.
func NewEgressWithPolicy(next http.RoundTripper, p *EgressPolicy) http.RoundTripper {
	return &egressLayer{next: orDefault(next), p: p}
}

type egressLayer struct {
	next http.RoundTripper
	p    *EgressPolicy
}

func (l *egressLayer) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := l.p.Check(req); err != nil {
		closeBody(req)
		return nil, err
	}
	return nextAnswer(l.next.RoundTrip(req))
}

// NewCredentialGuard returns a per-attempt layer that refuses to send a
// request over anything but https when it carries a credential (URL
// userinfo or userinfo in a hand-set Host, a credential header or
// trailer field, a credential query parameter of cfg; userinfo and query
// parameters in a hand-set URL.Opaque too, which net/http sends as the
// request-target),
// whichever layer added it. Place it below the credential layers (auth,
// API key, signing) and above the base transport: it is the last word on
// "credentials are never sent over plain http". For an https request it
// costs one string comparison. Only cfg's credential fields are used.
func NewCredentialGuard(next http.RoundTripper, cfg EgressConfig) (http.RoundTripper, error) {
	if err := checkNext(next); err != nil {
		return nil, err
	}
	p, err := NewEgressPolicy(EgressConfig{CredentialHeaders: cfg.CredentialHeaders, CredentialQueryKeys: cfg.CredentialQueryKeys})
	if err != nil {
		return nil, err
	}
	return &credentialGuard{next: orDefault(next), p: p}, nil
}

type credentialGuard struct {
	next http.RoundTripper
	p    *EgressPolicy
}

func (g *credentialGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := g.p.checkCleartext(req); err != nil {
		closeBody(req)
		return nil, err
	}
	return nextAnswer(g.next.RoundTrip(req))
}

// DialAllowances derives, from the compiled allowlist, what an SSRF-safe
// dialer must let through for the allowlist to be usable: the IP-literal
// hosts it names (as exact addresses) and the explicit ports of its entries
// (anyPort when an entry allows every port). Default ports (80, 443) are not
// listed; a dialer allows them anyway.
func (p *EgressPolicy) DialAllowances() (addrs []netip.Addr, ports []uint16, anyPort bool) {
	addPort := func(r egressRule) {
		switch r.port {
		case "":
		case "*":
			anyPort = true
		default:
			if n, err := strconv.ParseUint(r.port, 10, 16); err == nil && !slices.Contains(ports, uint16(n)) {
				ports = append(ports, uint16(n))
			}
		}
	}
	for host, rules := range p.exact {
		if a, err := netip.ParseAddr(host); err == nil {
			addrs = append(addrs, a)
		}
		for _, r := range rules {
			addPort(r)
		}
	}
	for _, r := range p.wild {
		addPort(r)
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	slices.Sort(ports)
	return addrs, ports, anyPort
}

// AddDialAllowances returns dc with what its SSRF-safe dialer must let
// through for p to be usable (DialAllowances), and addrs and ports besides
// (a token endpoint's, say), added: each address to AllowLiterals, so it
// is dialed when a request names it as an IP literal, never for a name
// that resolves to it (an IPv4-mapped IPv6 one is dialed as its IPv4 form,
// which Go's dialer connects: "[::ffff:10.0.0.5]" as 10.0.0.5); AnyPort
// when an entry allows every port, else Ports: 80, 443, dc's, the
// entries' and ports, sorted, without repeats. dc's own prefixes and
// literals are kept (not written to: the result has its own slices).
// Until session 23 the addresses were added to AllowPrefixes, so any
// name whose DNS answered one of them was dialed too.
func (p *EgressPolicy) AddDialAllowances(dc DialConfig, addrs []netip.Addr, ports []uint16) DialConfig {
	own, ownPorts, anyPort := p.DialAllowances()
	dc.AllowLiterals = append(slices.Clip(dc.AllowLiterals), own...)
	dc.AllowLiterals = append(dc.AllowLiterals, addrs...)
	dc.AnyPort = dc.AnyPort || anyPort
	if !dc.AnyPort {
		all := append([]uint16{80, 443}, dc.Ports...)
		all = append(append(all, ownPorts...), ports...)
		slices.Sort(all)
		dc.Ports = slices.Compact(all)
	}
	return dc
}
