package redact

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Redacted replaces every value a Policy does not allow to be shown.
const Redacted = "REDACTED"

// Policy is an allowlist of what may be shown. The zero value (and a nil
// *Policy) shows no query value and no header value. A Policy must not be
// modified once it is in use; it is then safe for concurrent use.
type Policy struct {
	// QueryKeys lists the query parameters whose values may be shown. Keys
	// are compared with the decoded key of the URL, case-sensitively (query
	// keys are case-sensitive). The keys of every parameter are always
	// shown; the values of the others are replaced with Redacted.
	QueryKeys []string
	// Headers lists the header fields whose values may be shown, compared
	// case-insensitively. Credential headers (see CredentialHeader) are
	// never shown even when listed.
	Headers []string
}

// Clone returns a copy of p that shares no slice with it (nil for nil), for
// a layer that keeps a policy its caller may change afterwards.
func (p *Policy) Clone() *Policy {
	if p == nil {
		return nil
	}
	return &Policy{QueryKeys: slices.Clone(p.QueryKeys), Headers: slices.Clone(p.Headers)}
}

// credentialHeaders are never shown, whatever a Policy lists. They are
// also the headers the transport's redirect policy strips from foreign
// hops and its credential guard keeps off plain http. Signature and
// Signature-Input (RFC 9421) are proof of a key rather than a secret, but
// a captured signature is valid until the server sees its nonce.
var credentialHeaders = [...]string{
	"Authorization",
	"Proxy-Authorization",
	"Cookie",
	"Cookie2",
	"Set-Cookie",
	"Set-Cookie2", // RFC 2965 (obsolete): a session cookie, as Set-Cookie
	"Signature",
	"Signature-Input",
	"X-Api-Key",
	"Api-Key",
	"X-Auth-Token",
	"X-Amz-Security-Token",
	"X-Goog-Api-Key",
	"Ocp-Apim-Subscription-Key", // Azure API Management
	"X-Functions-Key",           // Azure Functions
	"X-Vault-Token",             // HashiCorp Vault
	"Private-Token",             // GitLab
	"DPoP",                      // RFC 9449 proof: replayable with its token until the server sees its jti
}

// CredentialHeader reports whether name (any case) is a header that carries
// credentials and is therefore never shown, even when a Policy lists it.
// Configuration code may use it to reject such an allowlist entry.
func CredentialHeader(name string) bool {
	for _, h := range credentialHeaders {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// AllowsHeader reports whether the value of header name may be shown.
func (p *Policy) AllowsHeader(name string) bool {
	if p == nil || len(p.Headers) == 0 || CredentialHeader(name) {
		return false
	}
	for _, h := range p.Headers {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// VisibleHeaders returns the canonical names of the headers whose values
// may be shown (the Headers allowlist without credential headers and
// duplicates), for a layer that precomputes its attribute keys.
func (p *Policy) VisibleHeaders() []string {
	if p == nil {
		return nil
	}
	var out []string
	for _, h := range p.Headers {
		c := http.CanonicalHeaderKey(h)
		if c == "" || CredentialHeader(c) || contains(out, c) {
			continue
		}
		out = append(out, c)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Header returns value when the header name may be shown, else Redacted.
func (p *Policy) Header(name, value string) string {
	if p.AllowsHeader(name) {
		return value
	}
	return Redacted
}

// AllowsQuery reports whether the value of the query parameter with the
// decoded key may be shown.
func (p *Policy) AllowsQuery(key string) bool {
	if p == nil {
		return false
	}
	for _, k := range p.QueryKeys {
		if k == key {
			return true
		}
	}
	return false
}

// allowsRawKey is AllowsQuery for a key as it appears, still encoded, in a
// raw query.
func (p *Policy) allowsRawKey(raw string) bool {
	if p == nil || len(p.QueryKeys) == 0 {
		return false
	}
	if strings.ContainsAny(raw, "%+") {
		k, err := url.QueryUnescape(raw)
		if err != nil {
			return false
		}
		raw = k
	}
	return p.AllowsQuery(raw)
}

// URL renders u for telemetry: the userinfo is removed, the fragment is
// dropped, and the value of every query parameter the Policy does not allow
// is replaced with Redacted (keys are kept). A parameter without "=" is
// replaced as a whole unless its key is allowed, since a bare query
// component is often a token. Both "&" and ";" separate parameters: some
// servers split on ";", so a value after one must not hide behind an
// allowed key. An opaque URL ("scheme:opaque") keeps only its scheme,
// unless the opaque part is a "//host/path" authority form, which net/http
// sends as it is: a '?' in it begins the query (continued by RawQuery),
// redacted as one, and a '#' begins a fragment, dropped; its path is
// replaced with Redacted when its authority is empty (or userinfo only)
// and the path holds an '@' ("///user:pw@host/x", sent as
// "https:///user:pw@host/x"), as in that URL. The path is
// shown as it is, except in a URL with a scheme and no host, whose path
// holding an '@' may be a userinfo ("https:///user:pw@host"), and in a URL
// built by hand with neither scheme, host nor User whose path begins with
// "//" and holds an '@' (written "//user:pw@host/x", a network-path
// reference): it is then replaced with Redacted.
//
// A URL without userinfo, query or fragment costs one allocation.
func (p *Policy) URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	var b strings.Builder
	if u.Opaque != "" {
		b.Grow(len(u.Scheme) + 1 + len(u.Opaque) + queryLen(u.RawQuery))
		if u.Scheme != "" {
			b.WriteString(u.Scheme)
			b.WriteByte(':')
		}
		query := u.RawQuery
		if rest, ok := strings.CutPrefix(u.Opaque, "//"); ok {
			auth, path := rest, ""
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				auth, path = rest[:i], rest[i:]
			}
			// net/http sends the Opaque as it is: a '?' in it begins
			// the query the server reads, RawQuery its continuation,
			// and a '#' is a fragment, never shown.
			host, tail := stripUserinfo(auth), ""
			if i := strings.IndexAny(host, "?#"); i >= 0 {
				host, tail = host[:i], host[i:]+path
				path = ""
			} else if i := strings.IndexAny(path, "?#"); i >= 0 {
				path, tail = path[:i], path[i:]
			}
			if host == "" && strings.IndexByte(path, '@') >= 0 {
				// "///user:pw@host/x", sent as "https:///user:pw@host/x":
				// userinfo after an empty authority, redacted as that
				// URL is.
				b.WriteString(Redacted)
			} else {
				b.WriteString("//")
				b.WriteString(host)
				b.WriteString(path)
			}
			if oq, ok := strings.CutPrefix(tail, "?"); ok {
				oq, _, _ = strings.Cut(oq, "#")
				if query != "" {
					oq += "?" + query
				}
				query = oq
			}
		} else {
			b.WriteString(Redacted)
		}
		p.writeQuery(&b, query)
		return b.String()
	}
	host := stripUserinfo(u.Host)
	path := u.EscapedPath()
	if host == "" && strings.IndexByte(path, '@') >= 0 &&
		(u.Scheme != "" || u.User == nil && strings.HasPrefix(path, "//")) {
		// "https:///user:pw@host/x" or "https:/user:pw@host/x": no host
		// for url.Parse, which leaves the userinfo in the path, but one
		// for WHATWG parsers and readers. Without a scheme, a path
		// "//user:pw@host/x" (a URL built by hand) is written as a
		// network-path reference, read as userinfo by every reader.
		b.Grow(len(u.Scheme) + 1 + len(Redacted) + queryLen(u.RawQuery))
		if u.Scheme != "" {
			b.WriteString(u.Scheme)
			b.WriteByte(':')
		}
		b.WriteString(Redacted)
		p.writeQuery(&b, u.RawQuery)
		return b.String()
	}
	b.Grow(len(u.Scheme) + 3 + len(host) + len(path) + queryLen(u.RawQuery))
	if u.Scheme != "" {
		b.WriteString(u.Scheme)
		b.WriteByte(':')
	}
	if u.Scheme != "" || host != "" || u.User != nil {
		if host != "" || path != "" || u.User != nil {
			b.WriteString("//")
		}
		b.WriteString(host)
	}
	if path != "" && path[0] != '/' && host != "" {
		b.WriteByte('/')
	}
	b.WriteString(path)
	p.writeQuery(&b, u.RawQuery)
	return b.String()
}

// stripUserinfo removes anything up to the last '@' of an authority, or
// up to the last "%40" after it: url.URL.String escapes the '@' of
// userinfo a URL built by hand left in its Host ("user:pw@host" becomes
// "user:pw%40host"), and no host holds an ASCII escape (url.Parse refuses
// one).
//
// Most authorities hold neither '@' nor '%': strings.IndexByte (vectorised)
// tells so at once, where LastIndexByte and LastIndex (a rolling hash for
// "%40") walk every byte of every URL shown (url.full, once a call).
func stripUserinfo(auth string) string {
	if strings.IndexByte(auth, '@') >= 0 {
		auth = auth[strings.LastIndexByte(auth, '@')+1:]
	}
	if strings.IndexByte(auth, '%') >= 0 {
		if i := strings.LastIndex(auth, "%40"); i >= 0 {
			auth = auth[i+3:]
		}
	}
	return auth
}

// queryLen bounds the length of the redacted form of raw (with its "?").
func queryLen(raw string) int {
	if raw == "" {
		return 0
	}
	n := 1 + strings.Count(raw, "&") + strings.Count(raw, ";")
	return 1 + len(raw) + n*len(Redacted)
}

// Query returns the redacted form of a raw query string (without "?"),
// with the rules of URL.
func (p *Policy) Query(raw string) string {
	if raw == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(queryLen(raw))
	p.writeQuery(&b, raw)
	return b.String()[1:]
}

// writeQuery writes "?" and the redacted form of raw, or nothing when raw
// is empty.
func (p *Policy) writeQuery(b *strings.Builder, raw string) {
	if raw == "" {
		return
	}
	b.WriteByte('?')
	for {
		i := indexSeparator(raw)
		seg := raw
		if i >= 0 {
			seg = raw[:i]
		}
		p.writeParam(b, seg)
		if i < 0 {
			return
		}
		b.WriteByte(raw[i])
		raw = raw[i+1:]
	}
}

// indexSeparator returns the index of the first '&' or ';' in s, or -1
// (strings.IndexAny builds a character set on every call).
func indexSeparator(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '&' || c == ';' {
			return i
		}
	}
	return -1
}

func (p *Policy) writeParam(b *strings.Builder, seg string) {
	if seg == "" {
		return
	}
	key, _, hasValue := strings.Cut(seg, "=")
	switch {
	case p.allowsRawKey(key):
		b.WriteString(seg)
	case hasValue:
		b.WriteString(key)
		b.WriteByte('=')
		b.WriteString(Redacted)
	default:
		b.WriteString(Redacted)
	}
}

// URLString is URL for a URL in string form, such as the URL field of a
// *url.Error. A string that does not parse is redacted by hand with the
// same rules: everything after '#' is dropped, the query is redacted, and
// the userinfo of an authority ("//" at the start or after the scheme) is
// removed; what has an '@' and no authority is replaced with Redacted up
// to the query. When such a string has an
// authority ("scheme://" or "//") and an '@' past its end (the first '/',
// '?' or '#'), a userinfo holding one of those unescaped cannot be told
// from the rest: everything after "//" is replaced with Redacted.
func (p *Policy) URLString(raw string) string {
	if raw == "" {
		return ""
	}
	if u, err := url.Parse(raw); err == nil {
		return p.URL(u)
	}
	if i, _, ok := ambiguousAuthority(raw); ok {
		return raw[:i] + Redacted
	}
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		raw = raw[:i]
	}
	head, query, _ := strings.Cut(raw, "?")
	// The scheme is what url.Parse reads as one, not the text before the
	// first "://", which may be in the path ("//user:pw@host/p/https://x"
	// or "/proxy/https://x").
	n := schemeLen(head)
	if rest, ok := strings.CutPrefix(head[n:], "//"); ok {
		auth, path := rest, ""
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			auth, path = rest[:i], rest[i:]
		}
		head = head[:n] + "//" + stripUserinfo(auth) + path
	} else if strings.IndexByte(head, '@') >= 0 {
		head = Redacted
	}
	var b strings.Builder
	b.Grow(len(head) + queryLen(query))
	b.WriteString(head)
	p.writeQuery(&b, query)
	return b.String()
}

// ambiguousAuthority reports whether raw has an authority ("scheme://" or
// a leading "//", starting at start) with an '@' past its RFC 3986 end
// (the first '/', '?' or '#'): a userinfo holding one of those unescaped
// ("user:pa/ss@host"), which url.Parse reads as a host and an invalid
// port, cannot be told from a path or query '@'. auth is the authority as
// url.Parse reads it.
func ambiguousAuthority(raw string) (start int, auth string, ok bool) {
	start = strings.Index(raw, "//")
	switch {
	case start == 0:
	case start > 1 && raw[start-1] == ':' && !strings.ContainsAny(raw[:start-1], "/?#@"):
	default:
		return 0, "", false
	}
	start += 2
	rest := raw[start:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 || strings.IndexByte(rest[end:], '@') < 0 {
		return 0, "", false
	}
	return start, rest[:end], true
}
