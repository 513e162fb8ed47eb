package redact

import (
	"errors"
	"net"
	"net/textproto"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// ErrorRewriter is implemented by error types that hold other errors in
// their fields (a retry error's last error, for one) and can return a copy
// of themselves with each held error e replaced by rewrite(e), the message
// following. Policy.Error uses it to redact the URLs inside such an error
// without losing its type for errors.As.
type ErrorRewriter interface {
	RewriteErrors(rewrite func(error) error) error
}

// Error returns err with every *url.Error in its chain rewritten so that its
// URL is redacted as by URL (a *url.Error carries the full URL, query
// string included, in its message). The rewritten *url.Error keeps Op and
// wraps the redacted form of its Err, so errors.Is and errors.As still
// reach every error below it. Wrappers above a *url.Error are rebuilt:
// one that implements ErrorRewriter returns its own copy; any other (a
// fmt.Errorf %w wrapper, errors.Join) is replaced by an error whose message
// is the wrapper's message with the URLs replaced, and which unwraps to the
// rewritten errors. errors.As can then no longer find such an unknown
// wrapper type itself: keeping it would keep the secret reachable. The
// Location value http.Client quotes in its error for a redirect whose
// Location does not parse (a flat message below the request's *url.Error)
// is redacted as a URL too. A *url.Error from url.Parse itself (Op
// "parse") shows nothing of an absolute URL after its scheme (url.Parse
// quotes the URL without the fragment, where a '#' in a password may have
// sent the rest of the userinfo), and every quoted piece of the URL in
// url.Parse's detail (a host, a port, an escape, ParseAddr's input) that
// the redacted URL does not show is replaced, there and in http.Client's
// Location message.
//
// A URL built by hand may hold userinfo in its Host ("user:pass@host",
// which url.Parse would have put in User). net/http then dials the
// userinfo with the host, and the dial fails with a *net.OpError that is
// no *url.Error: its *net.DNSError (Name), *net.AddrError (Addr) or
// *net.ParseError (Text) quotes the password. Such an error is replaced
// with a copy of the same type whose field keeps only what follows the
// last '@' (as URL shows the host), so errors.As, IsNotFound and Timeout
// still work; the *net.OpError above it is copied with the rewritten Err.
// (A name or address cannot hold an '@' otherwise.)
//
// net/http's errors for a response it cannot parse quote what the server
// sent (the status line, a field line, a Transfer-Encoding or
// Content-Length value, a trailer key, a GOAWAY's debug data): a server
// that echoes the request sends back its query secrets and credential
// headers, a broken Set-Cookie line its session cookie. Every quoted
// string of such an error is replaced with Redacted, in the messages of
// the wrappers above too, and the result does not unwrap to it
// (errors.As no longer finds a textproto.ProtocolError).
//
// net/http's HTTP/2 transport quotes the request target, query included,
// when it refuses one that is no valid :path (a hand-set absolute-form
// URL.Opaque with a query and no path, "//host?token=..."), in a flat
// error that no *url.Error holds at the telemetry layers: its quoted
// strings are replaced with Redacted in the same way.
//
// An error without a *url.Error, such a net error or such a response
// error in its chain is returned as it is, without allocating. Error of a nil Policy redacts
// every query value.
func (p *Policy) Error(err error) error {
	if err == nil || !hasURLError(err) {
		return err
	}
	var r rewriter
	r.p = p
	return r.rewrite(err)
}

// hasURLError reports whether a *url.Error, or a net error whose name or
// address holds userinfo, is in err's tree.
func hasURLError(err error) bool {
	for err != nil {
		switch e := err.(type) {
		case *url.Error:
			return true
		case *net.DNSError:
			if hasAt(e.Name) {
				return true
			}
			err = e.Unwrap()
		case *net.AddrError:
			return hasAt(e.Addr)
		case *net.ParseError:
			return hasAt(e.Text)
		case interface{ Unwrap() []error }:
			for _, x := range e.Unwrap() {
				if hasURLError(x) {
					return true
				}
			}
			return false
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		default:
			return quotesResponse(err)
		}
	}
	return false
}

// responseQuotes begin the messages net/http gives an innermost error
// when it cannot parse what a server sent, quoting it: the status line or
// a piece of it, a Transfer-Encoding or Content-Length value, a trailer
// key, an HTTP/2 GOAWAY's debug data (textproto.ProtocolError, whose
// messages quote a field line, is matched by type). A server that echoes
// the request (a misrouted port) sends back the request line, query
// secrets included, and the credential headers; a broken Set-Cookie line
// quotes the session cookie.
var responseQuotes = []string{
	"malformed HTTP response ",
	"malformed HTTP status code ",
	"malformed HTTP version ",
	"unsupported transfer encoding: ",
	"too many transfer encodings: ",
	"bad Content-Length ",
	"invalid empty Content-Length ",
	"http: message cannot contain multiple Content-Length headers; got ",
	"bad trailer key ",
	"http2: server sent GOAWAY and closed the connection;",
	// Not the server's: net/http's HTTP/2 refusal of a request target
	// that is no valid :path (a hand-set absolute-form URL.Opaque with a
	// query and no path, "//host?token=..."), quoting that target and
	// the Opaque, query secrets included, in a flat error.
	"invalid request :path ",
}

// quotesResponse reports whether err, an error that wraps nothing, is one
// of net/http's errors that quote what a server sent (or the request
// target it refused as an HTTP/2 :path). Only errors.New's type
// (net/http's badStringError and fmt.Errorf without %w) and net/http's
// own types are looked at: the message of an error of any other type (a
// caller's, which may format it on every call) is not read, so such an
// error is neither replaced (errors.As still finds it) nor costs an
// allocation.
func quotesResponse(err error) bool {
	if pe, ok := err.(textproto.ProtocolError); ok {
		return strings.IndexByte(string(pe), '"') >= 0
	}
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if pkg := t.PkgPath(); pkg != "errors" && pkg != "net/http" {
		return false
	}
	msg := err.Error()
	if strings.IndexByte(msg, '"') < 0 {
		return false
	}
	for _, p := range responseQuotes {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// rewriter rewrites one error tree and remembers every URL it replaced, so
// the messages of unknown wrappers above can be fixed.
type rewriter struct {
	p    *Policy
	urls []string // pairs: original, redacted
}

func (r *rewriter) rewrite(err error) error {
	if err == nil || !hasURLError(err) {
		return err
	}
	switch e := err.(type) {
	case *url.Error:
		var red string
		if e.Op == "parse" {
			red = r.recordParse(e.URL)
		} else {
			red = r.record(e.URL)
		}
		inner := r.rewrite(e.Err)
		if loc, ok := badLocation(inner); ok {
			inner = r.location(inner, loc)
		} else if e.Op == "parse" && inner != nil {
			inner = r.parseDetail(inner, red)
		}
		if inner != nil && e.URL != red {
			// The inner message may quote the URL, or (url.Parse's
			// "invalid port" error) a password read as a port.
			if msg := inner.Error(); r.fix(msg) != msg {
				inner = &rewritten{msg: r.fix(msg), errs: []error{inner}, orig: inner}
			}
		}
		return &url.Error{Op: e.Op, URL: red, Err: inner}
	case *net.OpError:
		c := *e
		c.Err = r.rewrite(e.Err)
		return &c
	case *net.DNSError:
		c := *e
		c.Name = r.host(e.Name)
		c.UnwrapErr = r.rewrite(e.UnwrapErr)
		return &c
	case *net.AddrError:
		c := *e
		c.Addr = r.host(e.Addr)
		return &c
	case *net.ParseError:
		c := *e
		c.Text = r.host(e.Text)
		return &c
	case ErrorRewriter:
		return e.RewriteErrors(r.rewrite)
	case interface{ Unwrap() []error }:
		children := e.Unwrap()
		errs := make([]error, len(children))
		for i, c := range children {
			errs[i] = r.rewrite(c)
		}
		return &rewritten{msg: r.fix(err.Error()), errs: errs, orig: err}
	case interface{ Unwrap() error }:
		inner := r.rewrite(e.Unwrap())
		return &rewritten{msg: r.fix(err.Error()), errs: []error{inner}, orig: err}
	}
	if quotesResponse(err) {
		// What the server sent is replaced, in the wrappers' messages
		// too; the result does not unwrap to err, which would keep it
		// reachable.
		msg := err.Error()
		scrubbed := scrubQuoted(msg)
		r.urls = append(r.urls, msg, scrubbed)
		return &rewritten{msg: scrubbed, orig: err}
	}
	return err
}

// hasAt reports whether s, a host name or address from a net error,
// holds an '@': userinfo a URL built by hand left in its Host.
func hasAt(s string) bool { return strings.IndexByte(s, '@') >= 0 }

// host returns the host name or address s of a net error without the
// userinfo before its last '@', and remembers both for fix (the messages
// of wrappers above quote s).
func (r *rewriter) host(s string) string {
	red := stripUserinfo(s)
	if red != s {
		r.urls = append(r.urls, s, red)
	}
	return red
}

// locationPrefix begins the message of the error http.Client returns,
// inside a *url.Error, for a redirect whose Location header does not
// parse: the value follows, quoted, and again in the flattened (%v)
// message of url.Parse's *url.Error, so no *url.Error is left to rewrite.
const locationPrefix = "failed to parse Location header "

// badLocation returns the Location value quoted in err's message when err
// is http.Client's error for a Location that does not parse.
func badLocation(err error) (string, bool) {
	if err == nil || hasURLError(err) {
		return "", false
	}
	rest, ok := strings.CutPrefix(err.Error(), locationPrefix)
	if !ok {
		return "", false
	}
	q, err2 := strconv.QuotedPrefix(rest)
	if err2 != nil {
		return "", false
	}
	loc, err2 := strconv.Unquote(q)
	if err2 != nil || loc == "" {
		return "", false
	}
	return loc, true
}

// location returns err, whose message quotes the Location value loc, with
// every quoted occurrence of loc redacted as a URL. url.Parse cuts the
// fragment off before parsing, so its error quotes loc without it: that
// form is redacted too. The result does not unwrap to err, which would
// keep the value reachable.
func (r *rewriter) location(err error, loc string) error {
	red := r.record(loc)
	if red == loc {
		return err
	}
	if head, _, ok := strings.Cut(loc, "#"); ok && head != "" {
		if _, _, amb := ambiguousAuthority(loc); amb {
			// The '@' that makes loc ambiguous may be in the fragment:
			// head alone would then show the userinfo.
			r.urls = append(r.urls, head, red)
		} else {
			r.record(head)
		}
	}
	msg := err.Error()
	fixed := r.fix(msg)
	// The detail of url.Parse's error (after the second quote of loc)
	// may quote a piece of loc the redaction did not see as userinfo.
	fixed = scrubQuoted(fixed, r.reds()...)
	r.urls = append(r.urls, msg, fixed)
	return &rewritten{msg: fixed, orig: err}
}

// parseDetail returns err, the error under a url.Parse *url.Error whose
// URL is shown as red, with every quoted piece of the URL (a host, a port,
// an escape, ParseAddr's input: as url.Parse read it, possibly a password
// whose user name began with '[') that red does not show replaced with
// Redacted. The message of a wrapper above, which holds err's, is fixed
// too. The result does not unwrap to err, which would keep the piece
// reachable.
func (r *rewriter) parseDetail(err error, red string) error {
	msg := err.Error()
	scrubbed := scrubQuoted(msg, red)
	if scrubbed == msg {
		return err
	}
	r.urls = append(r.urls, msg, scrubbed)
	return &rewritten{msg: scrubbed, orig: err}
}

// reds returns the redacted forms recorded so far.
func (r *rewriter) reds() []string {
	out := make([]string, 0, len(r.urls)/2)
	for i := 1; i < len(r.urls); i += 2 {
		out = append(out, r.urls[i])
	}
	return out
}

// scrubQuoted returns msg with every Go-quoted string (as %q and
// strconv.Quote write it) replaced with a quoted Redacted, unless its
// content is part of one of shown, which the message shows anyway. An
// unterminated quote ends the message.
func scrubQuoted(msg string, shown ...string) string {
	i := strings.IndexByte(msg, '"')
	if i < 0 {
		return msg
	}
	var b strings.Builder
	for i >= 0 {
		b.WriteString(msg[:i])
		q, err := strconv.QuotedPrefix(msg[i:])
		if err != nil {
			b.WriteString(`"` + Redacted + `"`)
			return b.String()
		}
		if s, err := strconv.Unquote(q); err == nil && partOf(s, shown) {
			b.WriteString(q)
		} else {
			b.WriteString(`"` + Redacted + `"`)
		}
		msg = msg[i+len(q):]
		i = strings.IndexByte(msg, '"')
	}
	b.WriteString(msg)
	return b.String()
}

// partOf reports whether s is a substring of one of list.
func partOf(s string, list []string) bool {
	for _, x := range list {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

// record returns the redacted form of the URL raw and remembers both for
// fix (the messages of wrappers above). When raw does not parse and its
// authority is ambiguous (see ambiguousAuthority), url.Parse's error
// quotes the password as an invalid port (from the first or the last ':'
// of the authority, by scheme): both suffixes are remembered too (two,
// not one per ':': a Location full of colons must not cost a replacement
// pass each). A URL that parses has a real port there, which a dial error
// below shows and must keep.
func (r *rewriter) record(raw string) string {
	red := r.p.URLString(raw)
	if raw == "" || red == raw {
		return red
	}
	r.urls = append(r.urls, raw, red)
	if _, auth, ok := ambiguousAuthority(raw); ok && !parses(raw) {
		host := stripUserinfo(auth)
		if i := strings.IndexByte(host, ':'); i >= 0 && i+1 < len(host) {
			r.urls = append(r.urls, host[i:], ":"+Redacted)
		}
		if i := strings.LastIndexByte(host, ':'); i >= 0 && i+1 < len(host) && i != strings.IndexByte(host, ':') {
			r.urls = append(r.urls, host[i:], ":"+Redacted)
		}
	}
	return red
}

// recordParse is record for the URL of url.Parse's own *url.Error (Op
// "parse"). url.Parse quotes the URL without its fragment: a '#' in a
// password has cut the rest of the userinfo, its '@' included, off
// ("https://user:pa" of "https://user:pa#ss@host"), and what remains
// cannot be told from a host and a bad port, or from a path. Nothing after
// the scheme (and "//") of such a URL is shown: it is replaced with
// Redacted. A relative URL without an authority is redacted as by
// URLString.
func (r *rewriter) recordParse(raw string) string {
	head := raw[:schemeLen(raw)]
	rest := raw[len(head):]
	if strings.HasPrefix(rest, "//") {
		head += "//"
	} else if head == "" {
		return r.record(raw)
	}
	red := head + Redacted
	if red != raw {
		r.urls = append(r.urls, raw, red)
	}
	return red
}

// schemeLen returns the length of raw's "scheme:" prefix as url.Parse
// reads it (RFC 3986 §3.1), or 0.
func schemeLen(raw string) int {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.':
			if i == 0 {
				return 0
			}
		case c == ':' && i > 0:
			return i + 1
		default:
			return 0
		}
	}
	return 0
}

// parses reports whether url.Parse accepts raw.
func parses(raw string) bool {
	_, err := url.Parse(raw)
	return err == nil
}

// fix replaces, in msg, every URL replaced so far, in its quoted form (as
// *url.Error prints it) and as it is. The longest go first: a URL that is
// the prefix of another one (a Location extending the request's URL),
// replaced first, would alter the longer one's occurrences, which then no
// longer match and keep their secrets.
func (r *rewriter) fix(msg string) string {
	order := make([]int, 0, len(r.urls)/2)
	for i := 0; i+1 < len(r.urls); i += 2 {
		order = append(order, i)
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(r.urls[b]) - len(r.urls[a]) })
	for _, i := range order {
		old, red := r.urls[i], r.urls[i+1]
		if old == "" {
			continue
		}
		msg = strings.ReplaceAll(msg, strconv.Quote(old), strconv.Quote(red))
		msg = strings.ReplaceAll(msg, old, red)
	}
	return msg
}

// rewritten stands in for a wrapper whose message held a redacted URL.
type rewritten struct {
	msg  string
	errs []error
	orig error // consulted only for its own Is and Timeout methods
}

func (e *rewritten) Error() string   { return e.msg }
func (e *rewritten) Unwrap() []error { return e.errs }

// Is keeps a wrapper's own Is method (a sentinel it declares itself equal
// to) working.
func (e *rewritten) Is(target error) bool {
	if x, ok := e.orig.(interface{ Is(error) bool }); ok {
		return x.Is(target)
	}
	return false
}

// Timeout keeps net.Error classification of a wrapper that declares it.
func (e *rewritten) Timeout() bool {
	if x, ok := e.orig.(interface{ Timeout() bool }); ok {
		return x.Timeout()
	}
	for _, c := range e.errs {
		var t interface{ Timeout() bool }
		if errors.As(c, &t) && t.Timeout() {
			return true
		}
	}
	return false
}
