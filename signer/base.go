package signer

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dunglas/httpsfv"
	"golang.org/x/net/http/httpguts"

	"github.com/securecall/securecall/internal/ascii"
	"github.com/securecall/securecall/internal/hostname"
	"github.com/securecall/securecall/internal/redact"
)

// FieldType is the Structured Field type of an HTTP field (RFC 9651). The
// sf parameter (FieldSF) needs it to re-serialise the field.
type FieldType uint8

// Structured field types.
const (
	SFItem FieldType = iota + 1
	SFList
	SFDictionary
)

// checkStructuredFields reports the first entry of types (Options or
// VerifierOptions.StructuredFields, named by option) that no component
// can use, as a *ConfigError naming option: a name that is no field name,
// or not in lower case (components hold the field name lower-cased, so
// "X-List" would never be found and its fields' signatures would fail),
// or a type that is none of SFItem, SFList and SFDictionary (read as a
// Dictionary).
func checkStructuredFields(option string, types map[string]FieldType) error {
	for _, name := range slices.Sorted(maps.Keys(types)) {
		switch lower := strings.ToLower(name); {
		case !validFieldName(lower):
			return &ConfigError{Option: option, Reason: "invalid field name " + redact.FieldName(name)}
		case lower != name:
			return &ConfigError{Option: option, Reason: "field name " + strconv.Quote(name) + " is matched in lower case: write " + strconv.Quote(lower)}
		}
		switch t := types[name]; t {
		case SFItem, SFList, SFDictionary:
		default:
			return &ConfigError{Option: option, Reason: "type of " + strconv.Quote(name) + " is " + strconv.Itoa(int(t)) + ", not SFItem, SFList or SFDictionary"}
		}
	}
	return nil
}

// registeredSF lists the registered structured fields whose type the
// signer and verifier know without being told.
var registeredSF = map[string]FieldType{
	"accept-ch":                SFList,
	"accept-signature":         SFDictionary,
	"cache-groups":             SFList,
	"cache-group-invalidation": SFList,
	"cache-status":             SFList,
	"cdn-cache-control":        SFDictionary,
	"client-cert":              SFItem,
	"client-cert-chain":        SFList,
	"content-digest":           SFDictionary,
	"priority":                 SFDictionary,
	"proxy-status":             SFList,
	"repr-digest":              SFDictionary,
	"signature":                SFDictionary,
	"signature-input":          SFDictionary,
	"want-content-digest":      SFDictionary,
	"want-repr-digest":         SFDictionary,
}

// message is the signature context: the request and what cannot be read
// from it alone.
type message struct {
	req      *http.Request
	scheme   string               // lower-case "https" or "http"
	sfTypes  map[string]FieldType // extra structured field types, may be nil
	isServer bool                 // req was received (RequestURI is the wire target)
	cache    *parseCache          // a received message's parses, shared by its signatures; may be nil

	// signHost is hostOf(req), which Sign has from alignHost (hostSet):
	// one host conversion per request, not one per component using it.
	signHost string
	hostSet  bool

	// presentVals are the field lines present found for presentOf, which
	// appendField takes rather than looking them up again.
	presentOf   *Component
	presentVals []string

	// known holds the lines of the Header keys of a Signer's field
	// components (Signer.fieldKeys), taken by Sign from its walk over the
	// keys (see mergeKeysLines); slot is 1 + the index in known of the
	// lines of the component Sign is at, 0 when they are looked up in
	// Request.Header.
	known [maxFieldKeys][]string
	slot  uint8
}

// host returns hostOf(m.req), computed once by Sign.
func (m *message) host() string {
	if m.hostSet {
		return m.signHost
	}
	return hostOf(m.req)
}

// parseCache holds what building the signature bases of one received
// message parses, so that each is parsed once per message: a Dictionary
// field for its ;key= components, a structured field for ;sf, the query
// for @query-param. Without it, one request of MaxSignatures members of
// MaxComponents such components over a field or query near net/http's
// 1 MiB header limit cost hundreds of parses of it before any MAC was
// checked, for anyone who knows a keyid.
type parseCache struct {
	dicts map[string]dictParse  // field name -> its Dictionary
	sf    map[string]sfParse    // field name -> its ;sf serialisation
	query map[string]queryParam // encoded name -> value; nil until built
}

type dictParse struct {
	d   *httpsfv.Dictionary
	err error
}

type sfParse struct {
	s   string
	err error
}

// queryParam is one query parameter name: its first value (encoded for
// the signature base), how often the name occurs, and whether url.ParseQuery
// reads a pair of it otherwise (goAmbiguous).
type queryParam struct {
	value     string
	n         int
	ambiguous bool // a pair of the name is goAmbiguous
}

func (m *message) fieldType(name string) (FieldType, bool) {
	if t, ok := m.sfTypes[name]; ok {
		return t, true
	}
	t, ok := registeredSF[name]
	return t, ok
}

// clientScheme returns the scheme of an outgoing request.
func clientScheme(r *http.Request) string {
	if r.URL != nil && r.URL.Scheme != "" {
		if s := r.URL.Scheme; s == "https" || s == "http" {
			return s // lower-case already: no call
		}
		return strings.ToLower(r.URL.Scheme)
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// hostOf returns the authority the request is sent to, as it goes on the
// wire: Request.Host, else URL.Host, an internationalised name in its
// ASCII form: the IDNA lookup form (hostname.HostPort: punycode, lower-case,
// "。" a dot), which securecall's base transport sends and Sign sets as
// req.Host where net/http alone would send another (see alignHost); a name
// that has none in plain punycode, as net/http converts it for HTTP/1.1
// and HTTP/2 (httpguts.PunycodeHostPort). A received request's host is
// ASCII already.
func hostOf(r *http.Request) string {
	h := r.Host
	if h == "" && r.URL != nil {
		h = r.URL.Host
	}
	if a, err := hostname.HostPort(h); err == nil {
		return a // h itself when ASCII
	}
	if a, err := httpguts.PunycodeHostPort(h); err == nil {
		return a
	}
	return h // not convertible: net/http refuses to send it, Sign refuses it
}

// alignHost sets req.Host to the IDNA lookup form of the host req is sent
// to when that is not what net/http alone sends (plain punycode, which
// does not map: "xn--BCHER-2pa" for "BÜCHER", "。" kept), so that the host
// signed (hostOf) is the host sent by any transport: securecall's base
// transport sends the lookup form itself. An ASCII host is left alone.
// It returns hostOf(req) as req then is, from the conversion it made.
func alignHost(req *http.Request) string {
	h := req.Host
	if h == "" && req.URL != nil {
		h = req.URL.Host
	}
	a, err := hostname.HostPort(h)
	if err != nil {
		if p, err := httpguts.PunycodeHostPort(h); err == nil {
			return p
		}
		return h
	}
	if a == h {
		return a
	}
	if p, err := httpguts.PunycodeHostPort(h); err != nil || p != a {
		req.Host = a // hostOf(req): a, ASCII
	}
	return a
}

// fieldValues returns the field lines of c's field. Host and Content-Length
// are not taken from Request.Header of an outgoing request: net/http never
// sends them from there, but from Request.Host and the body's length (see
// outgoingContentLength), so they are synthesised as they go on the wire. A
// received request has Content-Length in its Header as received, and Host
// in Request.Host, the host it is served for: an HTTP/2 request may also
// carry a host field beside :authority, which net/http keeps in Header but
// does not serve the request for, so that field is never read. Of an
// outgoing request's User-Agent lines, net/http sends only the first, and
// none when it is empty (HTTP/1.1 and HTTP/2 alike), so only that line is
// the field.
func (m *message) fieldValues(c *Component) []string {
	r := m.req
	synth := c.name == "host" || (!m.isServer && c.name == "content-length")
	var vs []string
	if j := m.slot; j > 0 {
		vs = m.known[j-1]
	} else if !synth {
		vs = r.Header[c.header]
	}
	if len(vs) > 0 && !synth {
		if !m.isServer && c.name == "user-agent" {
			if vs[0] == "" {
				return nil
			}
			return vs[:1]
		}
		return vs
	}
	switch c.name {
	case "host":
		if h := m.host(); h != "" {
			return []string{h}
		}
	case "content-length":
		if m.isServer {
			if r.ContentLength > 0 {
				return []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		} else if n, ok := outgoingContentLength(r); ok {
			return []string{strconv.FormatInt(n, 10)}
		}
	}
	return nil
}

// outgoingContentLength returns the Content-Length net/http sends for the
// outgoing request r, and whether it sends one, where HTTP/1.1
// (transferWriter.shouldSendContentLength) and HTTP/2 agree: the length of a
// body of known length; 0 for a POST, PUT or PATCH without a body (nil or
// http.NoBody); none for a body of unknown length (sent chunked), for
// another method without a body, or when Transfer-Encoding chunked is
// forced on a body (HTTP/1.1 then sends no Content-Length; HTTP/2 would,
// so Sign makes such a body's length unknown first: Signer.alignWire).
func outgoingContentLength(r *http.Request) (int64, bool) {
	if r.Body == nil || r.Body == http.NoBody {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			return 0, true
		}
		return 0, false
	}
	if slices.Contains(r.TransferEncoding, "chunked") {
		return 0, false
	}
	if r.ContentLength > 0 {
		return r.ContentLength, true
	}
	return 0, false
}

// present reports whether the message has component c.
func (m *message) present(c *Component) bool {
	switch c.kind {
	case kindField:
		vs := m.fieldValues(c)
		if len(vs) == 0 {
			return false
		}
		m.presentOf, m.presentVals = c, vs
		if c.hasKey {
			d, err := httpsfv.UnmarshalDictionary(vs)
			if err != nil {
				return false
			}
			_, ok := d.Get(c.key)
			return ok
		}
		return true
	case kindQueryParam:
		// A repeated name is present but cannot be covered: appendLines
		// reports it, rather than IfPresent leaving it out unsigned.
		_, found, _ := appendQueryParamLines(nil, c, m.rawQuery())
		return found
	case kindAuthority, kindTargetURI:
		return m.host() != ""
	}
	return true
}

// usesHost reports whether c's value derives from the Host an outgoing
// request is sent with. net/http sends an empty Host in place of one that
// is not a valid field value (HTTP/1.1) or refuses the request (HTTP/2),
// and sends an IPv6 zone over HTTP/2 only (see hasZone), so Sign refuses
// to cover such a Host rather than sign what is not sent.
func (m *message) usesHost(c *Component) bool {
	switch c.kind {
	case kindAuthority, kindTargetURI:
		return true
	case kindField:
		return c.name == "host"
	case kindRequestTarget:
		u := m.req.URL
		return m.req.Method == http.MethodConnect && u != nil && u.Path == "" && u.Opaque == ""
	}
	return false
}

// opaqueHostAgrees reports whether the host c derives from (m.host())
// is the one a server reads from an outgoing request whose URL.Opaque is
// in absolute form ("//host/path", "https://host/path"): net/http sends
// that as the HTTP/1.1 request-target, whose authority a server takes the
// request for, ignoring the Host field (RFC 9112 §3.2.2), while HTTP/2
// refuses to send it unless the Host is that authority. For @authority the
// two are compared normalised (case, default port); for host and
// @target-uri, which carry the host as sent, byte for byte. An Opaque in
// origin form agrees with any host.
func (m *message) opaqueHostAgrees(c *Component) bool {
	scheme, a, _, absolute := splitOpaque(m.req.URL.Opaque)
	if !absolute {
		return true
	}
	h := m.host()
	if c.kind != kindAuthority {
		return a == h
	}
	if scheme == "" {
		scheme = m.scheme
	}
	if a == h && strings.EqualFold(scheme, m.scheme) {
		return true
	}
	// The server's default port is the target's scheme's.
	x, err1 := appendAuthority(nil, a, strings.ToLower(scheme), c)
	y, err2 := appendAuthority(nil, h, m.scheme, c)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// opaqueSchemeAgrees reports whether an outgoing request's URL.Opaque, when
// in absolute form with a scheme of its own ("http://host/path"), has the
// scheme c is signed with (the URL's, m.scheme) where c's value depends on
// it (@scheme, @target-uri; @authority's default port is compared in
// opaqueHostAgrees): a server reads the scheme of such a target (RFC 9110
// §7.1), and HTTP/2 refuses to send it with another.
func (m *message) opaqueSchemeAgrees(c *Component) bool {
	if c.kind != kindScheme && c.kind != kindTargetURI {
		return true
	}
	scheme, _, _, absolute := splitOpaque(m.req.URL.Opaque)
	return !absolute || scheme == "" || strings.EqualFold(scheme, m.scheme)
}

// hasZone reports whether host is an IPv6 literal with a zone
// ("[fe80::1%eth0]:8080"). net/http's HTTP/1 client strips the zone from
// the Host it sends (RFC 6874 §4) but HTTP/2 sends it in :authority, so no
// one signed value matches what both protocols send.
func hasZone(host string) bool {
	if len(host) == 0 || host[0] != '[' {
		return false
	}
	i := strings.LastIndexByte(host, ']')
	return i > 0 && strings.IndexByte(host[:i], '%') >= 0
}

func (m *message) rawQuery() string {
	q, _ := m.query()
	return q
}

// query returns the query of the request-target and whether it has one
// (true for a bare "?"): URL.RawQuery, but for a hand-set URL.Opaque that
// holds a '?' (net/http sends Opaque as it is, then "?" and RawQuery), all
// that follows the first '?' of the target, as a receiver splits it:
// Opaque "/a?x=1" with RawQuery "y=2" is sent as "/a?x=1?y=2", whose path
// is "/a" and query "x=1?y=2".
func (m *message) query() (string, bool) {
	u := m.req.URL
	if u == nil {
		return "", false
	}
	if u.Opaque != "" {
		if _, q, ok := strings.Cut(opaqueOrigin(u.Opaque), "?"); ok {
			if u.RawQuery != "" || u.ForceQuery {
				q += "?" + u.RawQuery
			}
			return q, true
		}
	}
	return u.RawQuery, u.RawQuery != "" || u.ForceQuery
}

// opaqueOrigin returns the part of URL.Opaque o that a receiver reads as
// the path and query: o itself, or, for an absolute-form target
// ("//host/path?query", sent with the URL's scheme, or
// "https://host/path?query", which HTTP/2 sends without its scheme and
// authority), what follows the authority, "" when nothing does.
func opaqueOrigin(o string) string {
	_, _, origin, _ := splitOpaque(o)
	return origin
}

// splitOpaque splits URL.Opaque o into the scheme ("" for "//host/path",
// sent with the URL's), the authority of an absolute-form target
// (absolute true) and what follows it; o in any other form (origin-form,
// "*", authority-form) is all origin.
func splitOpaque(o string) (scheme, authority, origin string, absolute bool) {
	rest, ok := strings.CutPrefix(o, "//")
	if !ok {
		i := strings.Index(o, "://")
		if i <= 0 || strings.ContainsAny(o[:i], "/?") {
			return "", "", o, false // origin-form, "*", authority-form
		}
		scheme, rest = o[:i], o[i+len("://"):]
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		return scheme, rest[:i], rest[i:], true
	}
	return scheme, rest, "", true
}

func missing(c *Component) error {
	return fmt.Errorf("%w: %s", ErrMissingComponent, c.id)
}

// appendLines appends the signature base line of component c:
// `<identifier>: <value>\n`. @query-param with a repeated name is an error
// (RFC 9421 §2.2.8: it MUST NOT be included).
func (m *message) appendLines(dst []byte, c *Component) ([]byte, error) {
	if c.kind == kindQueryParam {
		if m.cache != nil {
			return m.appendCachedQueryParam(dst, c)
		}
		out, found, err := appendQueryParamLines(dst, c, m.rawQuery())
		if err != nil {
			return dst, err
		}
		if !found {
			return dst, missing(c)
		}
		return out, nil
	}
	if !m.isServer && m.req.URL != nil && m.req.URL.Opaque != "" && !m.opaqueSchemeAgrees(c) {
		return dst, fmt.Errorf("%w: %s: the scheme of the absolute-form URL.Opaque, which a server reads, is not the URL's", ErrMalformed, c.id)
	}
	if !m.isServer && m.usesHost(c) {
		if h := m.host(); h != "" && (!httpguts.ValidHostHeader(h) || hasZone(h)) {
			return dst, fmt.Errorf("%w: %s", ErrInvalidHost, c.id)
		}
		if m.req.URL != nil && m.req.URL.Opaque != "" && !m.opaqueHostAgrees(c) {
			return dst, fmt.Errorf("%w: %s: the Host is not the authority of the absolute-form URL.Opaque, for which a server takes the request", ErrInvalidHost, c.id)
		}
	}
	start := len(dst)
	dst = append(dst, c.id...)
	dst = append(dst, ':', ' ')
	valStart := len(dst)
	var err error
	if c.kind == kindField {
		dst, err = m.appendField(dst, c)
	} else {
		dst, err = m.appendDerived(dst, c)
		if err == nil {
			err = checkDerived(dst[valStart:], c)
		}
		if err == nil && !m.isServer {
			err = checkSentTarget(dst[valStart:], c)
		}
	}
	if err != nil {
		return dst[:start], err
	}
	return append(dst, '\n'), nil
}

func (m *message) appendDerived(dst []byte, c *Component) ([]byte, error) {
	r := m.req
	switch c.kind {
	case kindMethod:
		if r.Method == "" {
			return append(dst, "GET"...), nil
		}
		return append(dst, r.Method...), nil
	case kindAuthority:
		return appendAuthority(dst, m.host(), m.scheme, c)
	case kindScheme:
		return append(dst, m.scheme...), nil
	case kindTargetURI:
		// The authority as sent (the Host field), not normalised: a
		// receiver rebuilds the target URI from the Host it got (RFC 9110
		// §7.1), and other implementations use the URI as given.
		host := m.host()
		if host == "" {
			return dst, missing(c)
		}
		dst = append(dst, m.scheme...)
		dst = append(dst, "://"...)
		dst = append(dst, host...)
		dst = m.appendPath(dst)
		if q, ok := m.query(); ok {
			dst = append(dst, '?')
			dst = append(dst, q...)
		}
		return dst, nil
	case kindRequestTarget:
		if m.isServer && r.RequestURI != "" {
			return append(dst, r.RequestURI...), nil
		}
		if r.URL == nil {
			return dst, missing(c)
		}
		if r.Method == http.MethodConnect && r.URL.Path == "" {
			// The authority-form net/http sends for a CONNECT without a
			// path (RFC 9421 §2.2.5, RFC 9112 §3.2.3): URL.Opaque as it
			// is, else the Host; what a receiver has as RequestURI.
			if r.URL.Opaque != "" {
				return append(dst, r.URL.Opaque...), nil
			}
			h := m.host()
			if h == "" {
				return dst, missing(c)
			}
			return append(dst, h...), nil
		}
		if r.URL.Opaque != "" {
			return append(dst, r.URL.RequestURI()...), nil
		}
		dst = m.appendPath(dst)
		if r.URL.RawQuery != "" || r.URL.ForceQuery {
			dst = append(dst, '?')
			dst = append(dst, r.URL.RawQuery...)
		}
		return dst, nil
	case kindPath:
		return m.appendPath(dst), nil
	case kindQuery:
		q, _ := m.query()
		dst = append(dst, '?')
		return append(dst, q...), nil
	}
	return dst, fmt.Errorf("%w: unknown derived component %q", ErrMalformed, c.name)
}

func (m *message) appendPath(dst []byte) []byte {
	if m.req.URL == nil {
		return append(dst, '/')
	}
	p := m.req.URL.EscapedPath()
	if m.isServer {
		// RFC 9421 §2.2.6: the path as received, before decoding.
		// EscapedPath re-escapes characters a client may send bare
		// ('|', '^', '{'), which the client signed bare.
		if w, ok := receivedPath(m.req); ok {
			p = w
		}
	}
	if o := m.req.URL.Opaque; o != "" {
		// net/http sends an opaque URL's path as it is ("/a%2Fb"), or, for
		// "//host/path" or "https://host/path", the path after the
		// authority; a query written into Opaque ("/a?x=1") is the
		// query, not the path (see query).
		p, _, _ = strings.Cut(opaqueOrigin(o), "?")
	}
	if p == "" {
		return append(dst, '/')
	}
	return append(dst, p...)
}

// receivedPath returns the path of a received request's target as it was
// on the wire (RequestURI, origin or absolute form), when it still decodes
// to URL.Path: a handler in front of the verifier that rewrote the URL
// (http.StripPrefix) makes the path verified the one the handler acts on.
func receivedPath(r *http.Request) (string, bool) {
	t := r.RequestURI
	if r.URL.Opaque != "" || t == "" {
		return "", false
	}
	if t[0] != '/' {
		// absolute-form: scheme "://" authority path-abempty [ "?" query ]
		i := strings.Index(t, "://")
		if i < 0 {
			return "", false // authority-form or "*"
		}
		t = t[i+3:]
		j := strings.IndexAny(t, "/?")
		if j < 0 || t[j] == '?' {
			t = ""
		} else {
			t = t[j:]
		}
	}
	if i := strings.IndexByte(t, '?'); i >= 0 {
		t = t[:i]
	}
	if p, err := url.PathUnescape(t); err != nil || p != r.URL.Path {
		return "", false
	}
	return t, true
}

// checkDerived enforces RFC 9421 §2.2: derived component values are
// printable ASCII and spaces, with no leading or trailing whitespace.
func checkDerived(v []byte, c *Component) error {
	if !ascii.IsPrintable(v) {
		return fmt.Errorf("%w: %s: value has a non-printable or non-ASCII byte", ErrMalformed, c.id)
	}
	if len(v) > 0 && (v[0] == ' ' || v[len(v)-1] == ' ') {
		return fmt.Errorf("%w: %s: value has leading or trailing space", ErrMalformed, c.id)
	}
	return nil
}

// checkSentTarget refuses a space in the value of an outgoing request's
// component taken from its request-target (@path, @query, @request-target,
// @target-uri). url.Parse keeps a space in the query and net/http sends
// URL.RawQuery and URL.Opaque as they are: over HTTP/1.1 the space ends the
// request-target ("GET /a?a b HTTP/1.1"), which Go's server answers with
// 400 and a lenient one may read as another target, while HTTP/2 delivers
// the :path as signed, so the signature would verify on one protocol only.
func checkSentTarget(v []byte, c *Component) error {
	switch c.kind {
	case kindPath, kindQuery, kindRequestTarget, kindTargetURI:
		if bytes.IndexByte(v, ' ') >= 0 {
			return fmt.Errorf("%w: %s: the request-target holds a space, which ends it on an HTTP/1.1 request line (percent-encode it: %%20)", ErrMalformed, c.id)
		}
	}
	return nil
}

// appendAuthority appends host normalised per RFC 9110 §4.2.3: lower-case
// host, default port for the scheme omitted.
func appendAuthority(dst []byte, host, scheme string, c *Component) ([]byte, error) {
	if host == "" {
		return dst, missing(c)
	}
	h, port := host, ""
	if host[0] == '[' {
		i := strings.IndexByte(host, ']')
		if i < 0 {
			return dst, fmt.Errorf("%w: %s: malformed host", ErrMalformed, c.id)
		}
		h = host[:i+1]
		rest := host[i+1:]
		if rest != "" {
			if rest[0] != ':' {
				return dst, fmt.Errorf("%w: %s: malformed host", ErrMalformed, c.id)
			}
			port = rest[1:]
		}
	} else if i := strings.LastIndexByte(host, ':'); i >= 0 {
		h, port = host[:i], host[i+1:]
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	start := len(dst)
	dst = append(dst, h...)
	for i := start; i < len(dst); i++ {
		if b := dst[i]; b >= 'A' && b <= 'Z' {
			dst[i] = b + 'a' - 'A'
		}
	}
	if port != "" {
		dst = append(dst, ':')
		dst = append(dst, port...)
	}
	return dst, nil
}

func (m *message) appendField(dst []byte, c *Component) ([]byte, error) {
	vs := m.presentVals
	if m.presentOf != c {
		vs = m.fieldValues(c)
	}
	m.presentOf, m.presentVals = nil, nil
	if len(vs) == 0 {
		return dst, missing(c)
	}
	if m.isServer && (c.hasKey || c.sf) && fieldSize(vs) > MaxStructuredFieldSize {
		return dst, fmt.Errorf("%w: %s: field larger than %d bytes, not parsed (MaxStructuredFieldSize)", ErrMalformed, c.id, MaxStructuredFieldSize)
	}
	switch {
	case c.hasKey:
		d, err := m.dictionary(c.name, vs)
		if err != nil {
			return dst, fmt.Errorf("%w: %s: field is not a dictionary: %v", ErrMalformed, c.id, err)
		}
		mem, ok := d.Get(c.key)
		if !ok {
			return dst, missing(c)
		}
		sfv, ok := mem.(httpsfv.StructuredFieldValue)
		if !ok {
			return dst, fmt.Errorf("%w: %s: unexpected member type", ErrMalformed, c.id)
		}
		s, err := httpsfv.Marshal(sfv)
		if err != nil {
			return dst, fmt.Errorf("%w: %s: %v", ErrMalformed, c.id, err)
		}
		return append(dst, s...), nil
	case c.sf:
		s, err := m.strict(c, vs)
		if err != nil {
			return dst, err
		}
		return append(dst, s...), nil
	case c.bs:
		for i, v := range vs {
			v = trimOWS(v)
			if err := checkFieldValue(v, c); err != nil {
				return dst, err
			}
			if i > 0 {
				dst = append(dst, ',', ' ')
			}
			dst = append(dst, ':')
			dst = base64.StdEncoding.AppendEncode(dst, []byte(v))
			dst = append(dst, ':')
		}
		return dst, nil
	}
	for i, v := range vs {
		v = trimOWS(v)
		if err := checkFieldValue(v, c); err != nil {
			return dst, err
		}
		if i > 0 {
			dst = append(dst, ',', ' ')
		}
		dst = append(dst, v...)
	}
	return dst, nil
}

// dictionary returns field name's lines vs parsed as a Dictionary, parsed
// once per received message.
func (m *message) dictionary(name string, vs []string) (*httpsfv.Dictionary, error) {
	if m.cache == nil {
		return httpsfv.UnmarshalDictionary(vs)
	}
	if p, ok := m.cache.dicts[name]; ok {
		return p.d, p.err
	}
	d, err := httpsfv.UnmarshalDictionary(vs)
	if m.cache.dicts == nil {
		m.cache.dicts = make(map[string]dictParse)
	}
	m.cache.dicts[name] = dictParse{d, err}
	return d, err
}

// strict returns the ;sf value of c's field (lines vs): parsed as its
// structured type and serialised again, once per received message.
func (m *message) strict(c *Component, vs []string) (string, error) {
	if m.cache != nil {
		if p, ok := m.cache.sf[c.name]; ok {
			return p.s, p.err
		}
	}
	s, err := m.strictUncached(c, vs)
	if m.cache != nil {
		if m.cache.sf == nil {
			m.cache.sf = make(map[string]sfParse)
		}
		m.cache.sf[c.name] = sfParse{s, err}
	}
	return s, err
}

func (m *message) strictUncached(c *Component, vs []string) (string, error) {
	t, ok := m.fieldType(c.name)
	if !ok {
		return "", fmt.Errorf("%w: %s: structured type of field %q unknown (see StructuredFields)", ErrMalformed, c.id, c.name)
	}
	var v httpsfv.StructuredFieldValue
	var err error
	switch t {
	case SFItem:
		v, err = httpsfv.UnmarshalItem(vs)
	case SFList:
		v, err = httpsfv.UnmarshalList(vs)
	default:
		v, err = m.dictionary(c.name, vs)
	}
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrMalformed, c.id, err)
	}
	s, err := httpsfv.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrMalformed, c.id, err)
	}
	return s, nil
}

// checkFieldValue refuses bytes that would break the line structure of the
// signature base (CR, LF, NUL) or are not field-content.
func checkFieldValue(v string, c *Component) error {
	if !ascii.HasCTL(v) {
		return nil // eight bytes at a time; a tab is told below
	}
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 0x20 && b != '\t' || b == 0x7f {
			return fmt.Errorf("%w: %s: field value has a control character", ErrMalformed, c.id)
		}
	}
	return nil
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// appendQueryParamLines appends the line of c's query parameter and
// reports whether the query has it. The query is parsed as
// application/x-www-form-urlencoded (WHATWG URL §5.1: '+' is a space, %XX
// is decoded, invalid UTF-8 becomes U+FFFD) and names and values are
// re-encoded with the urlencoded percent-encode set, space as %20 (RFC 9421
// §2.2.8). A name that occurs more than once (after decoding: "a" and "%61"
// are one name) MUST NOT be included (RFC 9421 §2.2.8): that is an error
// wrapping ErrMalformed, with found true; cover @query instead. So is a
// parameter net/http's url.ParseQuery (what a Go handler reads the query
// with) reads otherwise (goAmbiguous).
func appendQueryParamLines(dst []byte, c *Component, rawQuery string) ([]byte, bool, error) {
	found := false
	start := len(dst)
	tooMany := queryTooManyParts(rawQuery)
	var nameBuf, valBuf []byte
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		nameBuf = appendQueryEncoded(nameBuf[:0], string(formDecode(valBuf[:0], name)))
		if string(nameBuf) != c.qname {
			continue
		}
		if found {
			return dst[:start], true, errRepeatedQueryParam(c)
		}
		if tooMany || goAmbiguous(pair) {
			return dst[:start], true, errAmbiguousQueryParam(c, tooMany)
		}
		found = true
		dst = append(dst, c.id...)
		dst = append(dst, ':', ' ')
		valBuf = formDecode(valBuf[:0], value)
		dst = appendQueryEncoded(dst, string(valBuf))
		dst = append(dst, '\n')
	}
	return dst, found, nil
}

// goMaxQueryParts is the most '&'-separated parts net/http's
// url.ParseQuery parses a query of (Go 1.26's default urlmaxqueryparams);
// of a longer query it returns no parameter at all, where the WHATWG
// parser skips the empty parts a sender can add to reach it.
const goMaxQueryParts = 10000

func queryTooManyParts(rawQuery string) bool {
	return strings.Count(rawQuery, "&") >= goMaxQueryParts
}

// goAmbiguous reports whether url.ParseQuery reads the query pair (name,
// '=', value) otherwise than the WHATWG parser of RFC 9421 §2.2.8, so that
// the value signed is not the value a Go handler reads: it drops a pair
// holding a ';' or a '%' not followed by two hex digits (which the WHATWG
// parser keeps as data: "%zz" signs as "%25zz" does), and keeps bytes that
// are not UTF-8 as they are (which the WHATWG parser replaces with U+FFFD:
// every invalid sequence signs alike). Such a parameter cannot be covered.
func goAmbiguous(pair string) bool {
	plain := true
	for i := 0; i < len(pair); i++ {
		switch b := pair[i]; {
		case b == ';':
			return true
		case b == '%':
			if i+2 >= len(pair) || !ascii.IsHex(pair[i+1]) || !ascii.IsHex(pair[i+2]) {
				return true
			}
			if pair[i+1] >= '8' {
				plain = false // an escaped byte past 0x7F
			}
			i += 2
		case b >= 0x80:
			plain = false
		}
	}
	if plain {
		return false
	}
	// Every escape is valid: decode the pair ('=' stays '=') and check it.
	var buf [256]byte
	dec := buf[:0]
	for i := 0; i < len(pair); i++ {
		if pair[i] == '%' {
			dec = append(dec, ascii.Unhex(pair[i+1])<<4|ascii.Unhex(pair[i+2]))
			i += 2
		} else {
			dec = append(dec, pair[i])
		}
	}
	return !utf8.Valid(dec)
}

func errRepeatedQueryParam(c *Component) error {
	return fmt.Errorf("%w: %s: the query parameter occurs more than once, so it cannot be covered (RFC 9421 §2.2.8); cover @query instead", ErrMalformed, c.id)
}

func errAmbiguousQueryParam(c *Component, tooMany bool) error {
	if tooMany {
		return fmt.Errorf("%w: %s: the query has more than %d parts, of which Go's url.ParseQuery reads no parameter, so none can be covered; cover @query instead", ErrMalformed, c.id, goMaxQueryParts)
	}
	return fmt.Errorf("%w: %s: Go's url.ParseQuery reads the query parameter otherwise than RFC 9421 §2.2.8 signs it (a ';', a '%%' without two hex digits, or bytes that are not UTF-8), so it cannot be covered; cover @query instead", ErrMalformed, c.id)
}

// appendCachedQueryParam is appendQueryParamLines over the query parsed
// once per received message (m.cache).
func (m *message) appendCachedQueryParam(dst []byte, c *Component) ([]byte, error) {
	if m.cache.query == nil {
		m.cache.query = parseQueryParams(m.rawQuery())
	}
	p, ok := m.cache.query[c.qname]
	switch {
	case !ok:
		return dst, missing(c)
	case p.n > 1:
		return dst, errRepeatedQueryParam(c)
	case p.ambiguous || m.cache.query[tooManyPartsKey].n != 0:
		return dst, errAmbiguousQueryParam(c, m.cache.query[tooManyPartsKey].n != 0)
	}
	dst = append(dst, c.id...)
	dst = append(dst, ':', ' ')
	dst = append(dst, p.value...)
	return append(dst, '\n'), nil
}

// tooManyPartsKey is the entry of parseQueryParams' result that is set
// (n 1) when the query has more parts than url.ParseQuery parses
// (queryTooManyParts). No encoded name holds a space.
const tooManyPartsKey = " too many parts"

// parseQueryParams parses rawQuery as appendQueryParamLines does: each
// name and its first value, both encoded for the signature base, how
// often the name occurs, and whether a pair of it is goAmbiguous. The
// result is never nil.
func parseQueryParams(rawQuery string) map[string]queryParam {
	out := make(map[string]queryParam)
	if queryTooManyParts(rawQuery) {
		out[tooManyPartsKey] = queryParam{n: 1}
	}
	var buf []byte
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		n := string(appendQueryEncoded(nil, string(formDecode(buf[:0], name))))
		p, seen := out[n]
		if !seen {
			buf = formDecode(buf[:0], value)
			p.value = string(appendQueryEncoded(nil, string(buf)))
		}
		p.n++
		p.ambiguous = p.ambiguous || goAmbiguous(pair)
		out[n] = p
	}
	return out
}

// formDecode appends the form-urlencoded decoding of s to dst: '+' becomes
// a space, "%XX" the byte XX (a '%' not followed by two hex digits stays),
// then invalid UTF-8 is replaced by U+FFFD.
func formDecode(dst []byte, s string) []byte {
	start := len(dst)
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b == '+':
			dst = append(dst, ' ')
		case b == '%' && i+2 < len(s) && ascii.IsHex(s[i+1]) && ascii.IsHex(s[i+2]):
			dst = append(dst, ascii.Unhex(s[i+1])<<4|ascii.Unhex(s[i+2]))
			i += 2
		default:
			dst = append(dst, b)
		}
	}
	if utf8.Valid(dst[start:]) {
		return dst
	}
	raw := append([]byte(nil), dst[start:]...)
	return appendUTF8Lossy(dst[:start], raw)
}

// appendUTF8Lossy appends s with each maximal invalid subpart replaced by
// U+FFFD, as the WHATWG UTF-8 decoder does.
func appendUTF8Lossy(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRune(s[i:])
		if r != utf8.RuneError || n > 1 {
			dst = append(dst, s[i:i+n]...)
			i += n
			continue
		}
		dst = append(dst, "\uFFFD"...)
		i += maximalSubpart(s[i:])
	}
	return dst
}

func maximalSubpart(s []byte) int {
	lo, hi := byte(0x80), byte(0xBF)
	need := 0
	switch b := s[0]; {
	case b >= 0xC2 && b <= 0xDF:
		need = 1
	case b == 0xE0:
		need, lo = 2, 0xA0
	case b >= 0xE1 && b <= 0xEC, b == 0xEE, b == 0xEF:
		need = 2
	case b == 0xED:
		need, hi = 2, 0x9F
	case b == 0xF0:
		need, lo = 3, 0x90
	case b >= 0xF1 && b <= 0xF3:
		need = 3
	case b == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(s); k++ {
		c := s[n]
		if k == 0 && (c < lo || c > hi) || k > 0 && (c < 0x80 || c > 0xBF) {
			break
		}
		n++
	}
	return n
}

// appendQueryEncoded percent-encodes s with the WHATWG
// application/x-www-form-urlencoded percent-encode set, except that a space
// becomes %20: only ASCII alphanumerics and "*-._" stay as they are.
func appendQueryEncoded(dst []byte, s string) []byte {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '*' || b == '-' || b == '.' || b == '_' {
			dst = append(dst, b)
			continue
		}
		dst = append(dst, '%', hexDigits[b>>4], hexDigits[b&15])
	}
	return dst
}
