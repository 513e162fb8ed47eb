package transport

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/securecall/securecall/internal/ascii"
	"golang.org/x/text/unicode/norm"
)

// Template is a URL path template such as "/users/{id}/orders/{order}".
// Expanding it escapes each value as one path segment (url.PathEscape)
// and refuses values that would change the shape of the path: empty
// values, "." and ".." segments (also before a ";" path parameter,
// "..;v=1", which servlet containers such as Tomcat read as ".."), "/"
// and "\" (which some servers treat as a separator even when escaped),
// NUL and other control characters (C0, DEL and C1 such as U+0085), and invalid UTF-8. So a value can never climb out of its segment the way
// url.JoinPath(base, "../admin") does.
//
// A value that holds percent escapes is escaped again ("%" becomes
// "%25"), so a server that decodes the path once reads back the value as
// given. A gateway that decodes the path and forwards it decoded would
// hand its upstream the value's own escapes, which the upstream decodes
// again; so a segment whose decoding, once or repeatedly, would hold "/",
// "", a control character or invalid UTF-8, or be a dot segment, is
// refused too: "%2F", "%5C", "%2e%2e", "%252F", "%C0%AF". Other escapes
// ("100%", "a%20b", "%3F") are sent escaped again, as before.
//
// Servers that normalise Unicode (NFKC in some Java, Python and .NET
// stacks; Windows' best-fit code page mapping) read look-alikes as "."
// and "/": FULLWIDTH FULL STOP U+FF0E, TWO DOT LEADER U+2025, FULLWIDTH
// SOLIDUS U+FF0F, DIVISION SLASH U+2215. A segment whose NFKC form, with
// such look-alikes mapped and invisible format characters removed, would
// hold "/" or "\" or be a dot segment is refused as well. Other non-ASCII
// text ("é", "日本", "你好。", "½", whose NFKC form's FRACTION SLASH only
// best-fit mapping would read as "/", and it keeps "½") is sent escaped as
// UTF-8.
//
// The template text, not the filled-in path, is the call's route: the
// inventory, audit log and telemetry report "/users/{id}" for every user,
// which keeps identifiers out of metrics and their cardinality low. The
// base URL's path, which Template.NewRequest puts before it, is
// normalised (see Route).
//
// Syntax: the template starts with "/"; segments are separated by "/";
// a variable is "{name}" with name matching [A-Za-z_][A-Za-z0-9_]*, and
// may fill a whole segment or part of one ("/files/{name}.json",
// "/v1/{resource}:cancel"); each name appears once. Literal text may use
// unreserved characters, sub-delimiters, ":" and "@", and %XX escapes
// (not of "/", "\", "." or control characters, nor escapes of those
// escapes such as "%252F"). Empty segments ("//") are
// refused except for a trailing slash, and so are dot segments, with or
// without path parameters ("/..;v=1"). No query or fragment: add query
// parameters to the URL with url.Values.
//
// A Template is immutable and safe for concurrent use.
type Template struct {
	raw   string
	segs  [][]tmplPart
	names []string
}

// tmplPart is a literal (v < 0) or the variable with index v.
type tmplPart struct {
	lit string
	v   int
}

// TemplateError reports a bad template or a value refused by Expand. It
// wraps ErrUnsafePath. It names the variable, never the value, which may be
// user data.
type TemplateError struct {
	Template string
	Var      string // "" for an error in the template itself
	Reason   string
}

func (e *TemplateError) Error() string {
	s := "transport: url template " + strconv.Quote(e.Template) + ": "
	if e.Var != "" {
		s += "value of {" + e.Var + "}: "
	}
	return s + e.Reason
}

func (e *TemplateError) Unwrap() error { return ErrUnsafePath }

// ParseTemplate parses a path template, or returns a *TemplateError.
func ParseTemplate(s string) (*Template, error) {
	t := &Template{raw: s}
	bad := func(reason string) (*Template, error) {
		return nil, &TemplateError{Template: s, Reason: reason}
	}
	if !strings.HasPrefix(s, "/") {
		return bad("must start with /")
	}
	if len(s) > maxTemplateLen {
		return bad("longer than " + strconv.Itoa(maxTemplateLen) + " bytes")
	}
	if !utf8.ValidString(s) {
		return bad("not valid UTF-8")
	}
	raw := strings.Split(s[1:], "/")
	for i, seg := range raw {
		if seg == "" {
			if i == len(raw)-1 {
				t.segs = append(t.segs, nil) // trailing slash, or "/" itself
				continue
			}
			return bad("empty segment (//)")
		}
		parts, reason := t.parseSegment(seg)
		if reason != "" {
			return bad(reason)
		}
		t.segs = append(t.segs, parts)
	}
	return t, nil
}

// maxTemplateLen bounds a template; a longer one is almost certainly a
// filled-in path used by mistake.
const maxTemplateLen = 2048

func (t *Template) parseSegment(seg string) ([]tmplPart, string) {
	var parts []tmplPart
	var lit strings.Builder
	hasVar := false
	for i := 0; i < len(seg); {
		c := seg[i]
		switch {
		case c == '{':
			end := strings.IndexByte(seg[i:], '}')
			if end < 0 {
				return nil, "unclosed {"
			}
			name := seg[i+1 : i+end]
			if !validVarName(name) {
				return nil, "bad variable name " + strconv.Quote(name)
			}
			for _, n := range t.names {
				if n == name {
					return nil, "variable {" + name + "} appears twice"
				}
			}
			if lit.Len() > 0 {
				parts = append(parts, tmplPart{lit: lit.String(), v: -1})
				lit.Reset()
			}
			parts = append(parts, tmplPart{v: len(t.names)})
			t.names = append(t.names, name)
			hasVar = true
			i += end + 1
		case c == '}':
			return nil, "} without {"
		case c == '%':
			if i+2 >= len(seg) || !ascii.IsHex(seg[i+1]) || !ascii.IsHex(seg[i+2]) {
				return nil, "bad % escape"
			}
			d := ascii.Unhex(seg[i+1])<<4 | ascii.Unhex(seg[i+2])
			if d == '/' || d == '\\' || d == '.' || d < 0x20 || d == 0x7f {
				return nil, "escaped /, \\, . or control character in literal text"
			}
			lit.WriteString(seg[i : i+3])
			i += 3
		case c == '?' || c == '#':
			return nil, "query or fragment in a path template"
		case isPathLiteral(c):
			lit.WriteByte(c)
			i++
		default:
			return nil, "character " + strconv.QuoteRune(rune(c)) + " must be escaped in literal text"
		}
	}
	if lit.Len() > 0 {
		parts = append(parts, tmplPart{lit: lit.String(), v: -1})
	}
	for _, p := range parts {
		if p.v < 0 {
			if dec, err := url.PathUnescape(p.lit); err != nil || !utf8.ValidString(dec) {
				return nil, "literal text does not decode to valid UTF-8"
			}
		}
	}
	if !hasVar && dotSegment(seg) {
		return nil, "dot segment"
	}
	if !hasVar {
		if reason := checkDecodedSegment(seg); reason != "" {
			return nil, "literal text " + reason
		}
	}
	return parts, ""
}

func validVarName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// isPathLiteral reports an RFC 3986 pchar other than "%": unreserved,
// sub-delims, ":" and "@".
func isPathLiteral(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0
}

// MustParseTemplate is ParseTemplate for templates written in the source
// code (package-level variables); it panics on a bad template.
func MustParseTemplate(s string) *Template {
	t, err := ParseTemplate(s)
	if err != nil {
		panic(err)
	}
	return t
}

// String returns the template text: the route.
func (t *Template) String() string { return t.raw }

// Names returns the variable names in order.
func (t *Template) Names() []string { return append([]string(nil), t.names...) }

// Expand fills the variables, in order, with values and returns the
// escaped path (suitable for URL.RawPath), or a *TemplateError when the
// number of values is wrong or a value is refused.
func (t *Template) Expand(values ...string) (string, error) {
	if len(values) != len(t.names) {
		return "", &TemplateError{Template: t.raw, Reason: "got " + strconv.Itoa(len(values)) + " values for " + strconv.Itoa(len(t.names)) + " variables"}
	}
	var b strings.Builder
	b.Grow(len(t.raw) + 16*len(values))
	for _, parts := range t.segs {
		b.WriteByte('/')
		start := b.Len()
		for _, p := range parts {
			if p.v < 0 {
				b.WriteString(p.lit)
				continue
			}
			v := values[p.v]
			if reason := checkPathValue(v); reason != "" {
				return "", &TemplateError{Template: t.raw, Var: t.names[p.v], Reason: reason}
			}
			b.WriteString(url.PathEscape(v))
		}
		seg := b.String()[start:]
		if dotSegment(seg) || dotSegment(unescapedSegment(seg)) {
			return "", &TemplateError{Template: t.raw, Var: t.segVar(parts), Reason: "would make a dot segment"}
		}
		if reason := checkDecodedSegment(seg); reason != "" {
			return "", &TemplateError{Template: t.raw, Var: t.segVar(parts), Reason: reason}
		}
	}
	return b.String(), nil
}

// dotSegment reports whether a server may read the path segment seg as
// "." or "..": seg itself, or seg without its ";" path parameters, which
// servlet containers (Tomcat, Jetty) and Spring strip before they remove
// dot segments ("/a/..;v=1/b" is "/b" there).
func dotSegment(seg string) bool {
	head, _, _ := strings.Cut(seg, ";")
	return head == "." || head == ".."
}

// unescapedSegment returns seg, an expanded segment, percent-decoded
// once, as a server that decodes before it strips path parameters reads
// it ("..%3Bv" is "..;v"); seg itself if it does not decode.
func unescapedSegment(seg string) string {
	if dec, err := url.PathUnescape(seg); err == nil {
		return dec
	}
	return seg
}

// maxDecodeRounds bounds how many times checkDecodedSegment decodes a
// segment; one still changing after that many rounds is refused.
const maxDecodeRounds = 8

// checkDecodedSegment returns why the expanded segment seg would leave its
// place in the path when decoded more than once, or "". Expand escapes a
// value that already holds escapes again ("%2F" is sent as "%252F"), which
// a server that decodes once reads back as the text "%2F". But a gateway
// that decodes the path and forwards it decoded (nginx
// "proxy_pass http://up$uri", many API gateways and rewriting proxies)
// hands the upstream "%2F", and the upstream's own decoding makes it "/".
// So seg is decoded again and again, as leniently as such servers do (a
// "%" without two hex digits stays as it is; IIS's "%uXXXX" is decoded),
// and every form must be free of "/", "\", control characters and
// invalid UTF-8 (overlong forms such as "%C0%AF" for "/"), and must not
// be a dot segment. A segment without "%" is returned at once.
func checkDecodedSegment(seg string) string {
	if strings.IndexByte(seg, '%') < 0 {
		return ""
	}
	s := seg
	nfkc := false // s is, or is decoded from, an NFKC form made by lookalikeForm
	for range maxDecodeRounds {
		d, decoded := lenientUnescape(s)
		if reason := checkDecodedForm(d); reason != "" {
			return reason
		}
		n := d
		if !isASCII(d) {
			// A FRACTION SLASH in an NFKC form is NFKC's own ("½"),
			// unless decoding made another.
			frac := !nfkc || strings.Count(d, "\u2044") > strings.Count(s, "\u2044")
			n = lookalikeForm(d, frac)
			if checkDecodedForm(n) != "" {
				return "Unicode look-alike of /, \\, a control character or a dot segment (NFKC)"
			}
		}
		if !decoded && n == d {
			return ""
		}
		s, nfkc = n, nfkc || n != d
	}
	return "percent-encoded too many times"
}

// lookalikeForm returns d as a server that normalises Unicode may read
// it: NFKC (FULLWIDTH FULL STOP U+FF0E is ".", TWO DOT LEADER U+2025 is
// "..", FULLWIDTH SOLIDUS U+FF0F is "/", FULLWIDTH PERCENT SIGN U+FF05
// is "%"), without invisible format characters and variation selectors
// (".\u200B." is ".."), and with the look-alikes that Windows' best-fit
// code page mapping and some decoders read as "/", "\" or "." (DIVISION
// SLASH U+2215, FRACTION SLASH U+2044, IDEOGRAPHIC FULL STOP U+3002...)
// replaced by them. The look-alikes are mapped in d itself, before NFKC:
// a server applies one mapping or the other, not both, so the FRACTION
// SLASH that NFKC makes of a vulgar fraction ("½" is "1⁄2") is no "/"
// (best-fit mapping keeps "½" as it is). fraction is false when d is
// itself an NFKC form, whose FRACTION SLASHes NFKC made.
func lookalikeForm(d string, fraction bool) string {
	n := norm.NFKC.String(strings.Map(func(r rune) rune { return lookalike(r, fraction) }, d))
	return strings.Map(func(r rune) rune { return lookalike(r, false) }, n)
}

// lookalike returns what r is read as by lookalikeForm: "/", "\" or "."
// for a look-alike of one (FRACTION SLASH U+2044 only when fraction,
// that is in the value as given, not made by NFKC), -1 for an invisible
// format character or variation selector, else r.
func lookalike(r rune, fraction bool) rune {
	switch r {
	case '\u2044':
		if fraction {
			return '/'
		}
	case '\u2215', '\u29F8', '\u2571':
		return '/'
	case '\u2216', '\u29F5', '\u29F9', '\u2572':
		return '\\'
	case '\u3002', '\uFF61':
		return '.'
	}
	if unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector) {
		return -1
	}
	return r
}

// checkDecodedForm returns why d, a decoded form of a segment, would
// change the path's shape, or "".
func checkDecodedForm(d string) string {
	if !utf8.ValidString(d) {
		return "percent-encoded invalid UTF-8"
	}
	for i := 0; i < len(d); i++ {
		switch c := d[i]; {
		case c < 0x20 || c == 0x7f:
			return "percent-encoded control character"
		case c == '/' || c == '\\':
			return "percent-encoded / or \\ (would change the path where it is decoded twice)"
		case c == 0xC2 && i+1 < len(d) && d[i+1] >= 0x80 && d[i+1] <= 0x9F:
			return "percent-encoded control character"
		}
	}
	if dotSegment(d) {
		return "percent-encoded dot segment"
	}
	return ""
}

// lenientUnescape decodes every "%XX" and "%uXXXX" escape of s and leaves
// any other "%" as it is; changed reports whether anything was decoded.
func lenientUnescape(s string) (string, bool) {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			switch {
			case i+2 < len(s) && ascii.IsHex(s[i+1]) && ascii.IsHex(s[i+2]):
				if b == nil {
					b = append(make([]byte, 0, len(s)), s[:i]...)
				}
				b = append(b, ascii.Unhex(s[i+1])<<4|ascii.Unhex(s[i+2]))
				i += 2
				continue
			case i+5 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') && ascii.IsHex(s[i+2]) && ascii.IsHex(s[i+3]) && ascii.IsHex(s[i+4]) && ascii.IsHex(s[i+5]):
				if b == nil {
					b = append(make([]byte, 0, len(s)), s[:i]...)
				}
				r := rune(ascii.Unhex(s[i+2]))<<12 | rune(ascii.Unhex(s[i+3]))<<8 | rune(ascii.Unhex(s[i+4]))<<4 | rune(ascii.Unhex(s[i+5]))
				b = utf8.AppendRune(b, r)
				i += 5
				continue
			}
		}
		if b != nil {
			b = append(b, c)
		}
	}
	if b == nil {
		return s, false
	}
	return string(b), true
}

// segVar names the first variable of a segment, for an error.
func (t *Template) segVar(parts []tmplPart) string {
	for _, p := range parts {
		if p.v >= 0 {
			return t.names[p.v]
		}
	}
	return ""
}

// ExpandMap is Expand with the values given by variable name. Every
// variable must have a value, and every key must be a variable.
func (t *Template) ExpandMap(values map[string]string) (string, error) {
	vs := make([]string, len(t.names))
	for i, n := range t.names {
		v, ok := values[n]
		if !ok {
			return "", &TemplateError{Template: t.raw, Var: n, Reason: "missing"}
		}
		vs[i] = v
	}
	if len(values) != len(t.names) {
		return "", &TemplateError{Template: t.raw, Reason: "values given for names that are not variables"}
	}
	return t.Expand(vs...)
}

// checkPathValue returns why v cannot be a path value, or "". Control
// characters are C0, DEL and C1 (U+0080-U+009F, "\xC2\x80"-"\xC2\x9F" in
// UTF-8), among them NEXT LINE U+0085, a line break to some servers.
func checkPathValue(v string) string {
	if v == "" {
		return "empty"
	}
	if !utf8.ValidString(v) {
		return "not valid UTF-8"
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c < 0x20 || c == 0x7f:
			return "control character"
		case c == '/' || c == '\\':
			return "contains / or \\ (would change the path)"
		case c == 0xC2 && i+1 < len(v) && v[i+1] >= 0x80 && v[i+1] <= 0x9F:
			return "control character"
		}
	}
	return ""
}

// URL returns base with its path extended by the expanded template (base's
// path keeps its own segments; a trailing slash on it is not doubled) and
// no query or fragment. Path and RawPath are set consistently, so the
// escapes survive url.URL.String and http.NewRequest.
func (t *Template) URL(base *url.URL, values ...string) (*url.URL, error) {
	if base == nil || !base.IsAbs() || base.Host == "" {
		return nil, &TemplateError{Template: t.raw, Reason: "base URL must be absolute"}
	}
	p, err := t.Expand(values...)
	if err != nil {
		return nil, err
	}
	u := *base
	u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = "", "", "", false
	raw := strings.TrimSuffix(base.EscapedPath(), "/") + p
	dec, err := url.PathUnescape(raw)
	if err != nil {
		return nil, &TemplateError{Template: t.raw, Reason: "base URL path is not validly escaped"}
	}
	u.Path, u.RawPath = dec, raw
	return &u, nil
}

// Route returns the route of requests built from t against base: base's
// path (without a trailing slash) followed by the template. The base path
// is no template: it is normalised as a path sent without a route is
// (NormalizePath), so that an identifier or a secret in it (a tenant id,
// the bot token of https://api.telegram.org/bot<TOKEN>) becomes "{id}"
// and reaches neither the inventory nor metric and span attributes.
func (t *Template) Route(base *url.URL) string {
	if base == nil {
		return t.raw
	}
	p := strings.TrimSuffix(base.EscapedPath(), "/")
	if p == "" {
		return t.raw
	}
	return NormalizePath(p) + t.raw
}

// NewRequest builds a request to the template expanded against base (an
// absolute URL such as "https://api.example.com/v1"), with a context that
// carries the route (WithRoute), for the inventory, the audit log and
// telemetry.
func (t *Template) NewRequest(ctx context.Context, method, base string, body io.Reader, values ...string) (*http.Request, error) {
	b, err := url.Parse(base)
	if err != nil {
		return nil, &TemplateError{Template: t.raw, Reason: "base URL does not parse"}
	}
	u, err := t.URL(b, values...)
	if err != nil {
		return nil, err
	}
	return http.NewRequestWithContext(WithRoute(ctx, t.Route(b)), method, u.String(), body)
}
