package transport

import (
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/securecall/securecall/internal/ascii"
	"github.com/securecall/securecall/internal/hops"
)

// Defaults of LimitsConfig.
const (
	// DefaultMaxResponseBodyBytes is the most a caller may read from a
	// response body: 16 MiB.
	DefaultMaxResponseBodyBytes = 16 << 20
	// DefaultMaxResponseHeaderBytes is the largest response header (the
	// field names and values, counted as "Name: value\r\n" lines) accepted:
	// 1 MiB.
	DefaultMaxResponseHeaderBytes = 1 << 20
	// limitsDrain is how much of a refused response body is read so the
	// connection can be reused, for DrainTimeout at most; beyond either
	// the connection is closed. A body declared longer is closed unread.
	limitsDrain = 64 << 10
)

// LimitsConfig configures NewLimits. The zero value applies the default
// size limits and accepts any media type.
type LimitsConfig struct {
	// MaxBodyBytes is the most a caller may read from a response body.
	// The limit applies to the stream the caller reads, so to the decoded
	// bytes when net/http decompresses the body transparently (it does
	// when it asked for gzip itself); a caller that sets Accept-Encoding
	// and decodes by itself should bound its decoder too. A body declared
	// larger (Content-Length) is refused before it is read; one that turns
	// out larger yields its first MaxBodyBytes bytes and then a
	// *ResponseTooLargeError instead of io.EOF: never a silently truncated
	// body. A redirect http.Client follows (see MediaTypes) is not refused
	// for its declared length, since it discards the body unread; one a
	// CheckRedirect hands to the caller (http.ErrUseLastResponse), or one
	// a caller of RoundTrip without http.Client gets (the layer cannot
	// tell that no http.Client follows it), yields its first MaxBodyBytes
	// bytes and then the error. A response without
	// content by definition (to HEAD; 204, 304) that comes with a body
	// anyway (net/http's HTTP/2 transport reads the DATA a server sends
	// after such a header when the header did not end the stream) is
	// bounded while read too. It applies to the stream net/http hands over as the body of a
	// 101 Switching Protocols the request did not ask for (no Upgrade
	// header), and not to one it asked for (a WebSocket, say).
	// Over HTTP/2 the transport below buffers what a server sends ahead
	// of the caller's reads, up to the stream's receive window: give a
	// limit below 4 MiB to BaseConfig.HTTP2MaxReceiveBufferPerStream too
	// (at least 64 KiB), or a server can push net/http's 4 MiB window
	// into memory whatever the limit.
	// Zero means DefaultMaxResponseBodyBytes; negative, no limit.
	MaxBodyBytes int64
	// MaxHeaderBytes is the largest response header accepted, counted as
	// the sum of len(name)+len(value)+4 over every field line. It is
	// checked once the header is parsed, so after the transport below has
	// read it whole: give BaseConfig.MaxResponseHeaderBytes the same value
	// (its default is the same 1 MiB) so that the Base stops reading an
	// oversized header early (a bare http.Transport reads up to 10 MiB).
	// Zero means DefaultMaxResponseHeaderBytes; negative, no limit here
	// (the transport's own limit still applies).
	MaxHeaderBytes int64
	// MediaTypes, when not empty, is the allowlist of response media types
	// (the Content-Type without parameters, compared case-insensitively):
	// "application/json", "type/*", or "type/*+suffix" such as
	// "application/*+json" (which takes application/problem+json). A
	// response that may have a body (not to HEAD, not 1xx, 204 or 304, and
	// not Content-Length: 0; a 101 Switching Protocols to a request that
	// asked for no switch, with no Upgrade header, may: its body is the
	// connection's stream) with another or no media type is refused with
	// a *MediaTypeError. Redirects http.Client follows (301, 302, 303, and
	// 307 and 308 when the call's first request has no body or has
	// GetBody, each with a Location; a new call built from a redirected
	// call's response, resp.Request.Clone, is a first request, though it
	// keeps Response) are not checked: it discards their bodies (a CheckRedirect
	// returning http.ErrUseLastResponse hands one to the caller unchecked,
	// and so does RoundTrip called without http.Client, as through
	// client.Client.Transport: the layer cannot tell that nothing follows
	// the redirect; its body is bounded by MaxBodyBytes all the same).
	// Any other 3xx reaches the caller and is checked. Empty: any media
	// type.
	MediaTypes []string
}

// ResponseTooLargeError reports a response over a size limit. It wraps
// ErrResponseTooLarge.
type ResponseTooLargeError struct {
	// Part is "body" or "header".
	Part string
	// Limit is the configured limit in bytes.
	Limit int64
	// Size is the declared (Content-Length) or measured size, or -1 when
	// the body is only known to be larger than Limit.
	Size int64
}

func (e *ResponseTooLargeError) Error() string {
	s := "transport: response too large: " + e.Part + " exceeds " + strconv.FormatInt(e.Limit, 10) + " bytes"
	if e.Size >= 0 {
		s += " (" + strconv.FormatInt(e.Size, 10) + " bytes)"
	}
	return s
}

func (e *ResponseTooLargeError) Unwrap() error { return ErrResponseTooLarge }

// MediaTypeError reports a response whose media type is not on the
// allowlist. It wraps ErrMediaTypeDenied.
type MediaTypeError struct {
	// MediaType is the response's media type without parameters, "" when
	// it had none (cut to 64 bytes: it comes from the server).
	MediaType string
	// StatusCode is the response's status.
	StatusCode int
}

func (e *MediaTypeError) Error() string {
	mt := strconv.Quote(e.MediaType)
	if e.MediaType == "" {
		mt = "none"
	}
	return "transport: response media type denied: " + mt + " (status " + strconv.Itoa(e.StatusCode) + ")"
}

func (e *MediaTypeError) Unwrap() error { return ErrMediaTypeDenied }

// ErrorType returns "media_type_denied", the error.type of telemetry.
func (e *MediaTypeError) ErrorType() string { return "media_type_denied" }

// mediaPattern is one MediaTypes entry.
type mediaPattern struct {
	typ    string // "application"; "*" for "*/*"
	sub    string // "json"; "" for "type/*"
	suffix string // "+json" for "type/*+json"
}

func (p mediaPattern) match(typ, sub string) bool {
	if p.typ == "*" {
		return true
	}
	if p.typ != typ {
		return false
	}
	switch {
	case p.suffix != "":
		return strings.HasSuffix(sub, p.suffix) && len(sub) > len(p.suffix)
	case p.sub == "":
		return true
	default:
		return p.sub == sub
	}
}

func parseMediaPattern(s string) (mediaPattern, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	typ, sub, ok := strings.Cut(s, "/")
	if !ok || sub == "" {
		return mediaPattern{}, false
	}
	if typ == "*" {
		return mediaPattern{typ: "*"}, sub == "*"
	}
	if !isToken(typ) {
		return mediaPattern{}, false
	}
	switch {
	case sub == "*":
		return mediaPattern{typ: typ}, true
	case strings.HasPrefix(sub, "*+"):
		if !isToken(sub[2:]) {
			return mediaPattern{}, false
		}
		return mediaPattern{typ: typ, suffix: sub[1:]}, true
	case isToken(sub):
		return mediaPattern{typ: typ, sub: sub}, true
	}
	return mediaPattern{}, false
}

// isToken reports whether s is a non-empty RFC 9110 token without "*"
// (a wildcard in a media pattern).
func isToken(s string) bool { return ascii.IsToken(s) && strings.IndexByte(s, '*') < 0 }

// NewLimits returns the response-limits layer: response header size,
// body size (on the stream the caller reads) and an optional media-type
// allowlist, per LimitsConfig. A response over the header limit or of a
// refused media type is drained (at most 64 KiB and DrainTimeout; not at
// all when its declared length is longer or it is a 101, whose connection
// cannot be reused), closed and replaced by an error; one declared over the body
// limit is closed unread. next's request is never modified.
//
// It is a per-call layer: place it above the retry layer, below anything
// that reads response bodies for the caller (OpenAPI validation), so that
// they read behind the limit. Bad configuration is a *ConfigError.
func NewLimits(next http.RoundTripper, cfg LimitsConfig) (http.RoundTripper, error) {
	if err := checkNext(next); err != nil {
		return nil, err
	}
	l := &limitsLayer{
		next:      orDefault(next),
		maxBody:   cfg.MaxBodyBytes,
		maxHeader: cfg.MaxHeaderBytes,
	}
	if l.maxBody == 0 {
		l.maxBody = DefaultMaxResponseBodyBytes
	}
	if l.maxHeader == 0 {
		l.maxHeader = DefaultMaxResponseHeaderBytes
	}
	for i, s := range cfg.MediaTypes {
		p, ok := parseMediaPattern(s)
		if !ok {
			return nil, configErrorf("MediaTypes["+strconv.Itoa(i)+"]", nil,
				"want type/subtype, type/*, type/*+suffix or */*")
		}
		l.media = append(l.media, p)
	}
	return l, nil
}

type limitsLayer struct {
	next      http.RoundTripper
	maxBody   int64 // < 0: none
	maxHeader int64 // < 0: none
	media     []mediaPattern
	// hops holds the redirects http.Client follows that the layer
	// returned, each with whether its chain's first request is replayable.
	hops hops.Set[bool]
}

func (l *limitsLayer) RoundTrip(req *http.Request) (*http.Response, error) {
	// Read before next: inside a call scope, req may become the call's
	// first attempt's request (beginCallAttempt).
	head := req.Method == http.MethodHead
	// Whether http.Client can send the body of the first request of req's
	// redirect chain again, as it must to follow a 307 or 308 anywhere in
	// the chain: a hop's is its chain's, kept in hops, not found through
	// its Response.Request, which a new call built from a redirected call's
	// response (resp.Request.Clone, keeping Response) has too, leading back
	// into the earlier call's chain. req starts a chain when it is no hop.
	replayable, hop := l.hops.Follow(req)
	if !hop {
		replayable = bodyReplayable(req)
	}
	cs := ownedScope(req)
	resp, err := l.next.RoundTrip(req)
	if resp == nil && err == nil {
		err = errNoNextResponse // a broken next: an error, as net/http's Client makes it
	}
	if err != nil {
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		return nil, err
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	if l.maxHeader >= 0 {
		if n := headerSize(resp.Header, l.maxHeader); n > l.maxHeader {
			limitsDiscard(resp)
			return nil, &ResponseTooLargeError{Part: "header", Limit: l.maxHeader, Size: n}
		}
	}
	// An unsolicited 101's body is the connection's stream, whatever its
	// (zero) ContentLength says.
	switched := resp.StatusCode == http.StatusSwitchingProtocols && resp.Body != http.NoBody && !asksUpgrade(req.Header)
	mayHaveBody := switched || !head && resp.StatusCode >= 200 &&
		resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified
	followed := redirectFollowed(resp, replayable)
	if len(l.media) > 0 && mayHaveBody && !followed && (resp.ContentLength != 0 || switched) {
		if mt, ok := l.mediaAllowed(resp.Header.Get("Content-Type")); !ok {
			limitsDiscard(resp)
			return nil, &MediaTypeError{MediaType: mt, StatusCode: resp.StatusCode}
		}
	}
	if followed {
		l.hops.Pend(resp, replayable) // its hop's chain is req's
	}
	// A body of a response that has none by definition (to HEAD; 204,
	// 304) is bounded too: net/http's HTTP/2 transport hands one out when
	// the server does not end the stream with the header, and reads into
	// it whatever DATA follows. Only a 101 the request asked for keeps its
	// body (the connection, writable) as it is.
	if l.maxBody < 0 || resp.Body == http.NoBody || resp.StatusCode == http.StatusSwitchingProtocols && !switched {
		return resp, nil
	}
	// A redirect http.Client follows is discarded unread (closed past
	// 2 KiB): its declared length fails nothing. Handed to the caller
	// instead (http.ErrUseLastResponse), it is bounded while read. The
	// Content-Length of a response without content (a HEAD's is the
	// GET's) declares no body.
	if mayHaveBody && resp.ContentLength > l.maxBody && !followed {
		_ = resp.Body.Close() // known to be too large: not worth draining
		return nil, &ResponseTooLargeError{Part: "body", Limit: l.maxBody, Size: resp.ContentLength}
	}
	var lb *limitedBody
	if cs != nil && cs.limited.rc == nil {
		lb = &cs.limited // the call scope's room: no allocation
	} else {
		lb = new(limitedBody)
	}
	*lb = limitedBody{rc: resp.Body, left: l.maxBody, limit: l.maxBody}
	resp.Body = lb
	return resp, nil
}

// redirectFollowed reports whether http.Client follows resp, a redirect
// whose body it then discards unread: a 301, 302, 303, 307 or 308 with a
// Location, the last two only when the chain's first request can be sent
// again (replayable). Every other 3xx (300, 305,
// 306, a 307/308 to a request body without GetBody) is handed to the
// caller, body and all.
func redirectFollowed(resp *http.Response, replayable bool) bool {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther:
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		if !replayable {
			return false
		}
	default:
		return false
	}
	return resp.Header.Get("Location") != ""
}

// asksUpgrade reports whether h, a request header, asks for a protocol
// switch (an Upgrade field, under any spelling of its name: net/http
// sends a non-canonical key as written). A 101 Switching Protocols to a
// request that did not is a server's violation of RFC 9110 §15.2.2, and
// net/http hands the raw connection over as its body: the limits apply to
// it as to any body.
func asksUpgrade(h http.Header) bool {
	for k, vs := range h {
		if strings.EqualFold(k, "Upgrade") && len(vs) > 0 && vs[0] != "" {
			return true
		}
	}
	return false
}

// mediaAllowed parses a Content-Type value and checks it against the
// allowlist. It returns the media type (cut to 64 bytes) for the error.
func (l *limitsLayer) mediaAllowed(ct string) (string, bool) {
	if ct == "" {
		return "", false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil && err != mime.ErrInvalidMediaParameter {
		return cut(ct, 64), false
	}
	typ, sub, ok := strings.Cut(mt, "/")
	if !ok {
		return cut(mt, 64), false
	}
	for _, p := range l.media {
		if p.match(typ, sub) {
			return mt, true
		}
	}
	return cut(mt, 64), false
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// headerSize returns the size of h counted as "Name: value\r\n" lines,
// stopping early once it exceeds max.
func headerSize(h http.Header, max int64) int64 {
	var n int64
	for k, vs := range h {
		for _, v := range vs {
			n += int64(len(k) + len(v) + 4)
		}
		if n > max {
			return n
		}
	}
	return n
}

// limitsDiscard drains a refused body (bounded in bytes and, by
// DrainTimeout, in time) and closes it. Only what
// can save the connection is read (drainClose): not a body declared longer
// than limitsDrain, nor a 101's, which is the connection's stream.
func limitsDiscard(resp *http.Response) {
	if resp.StatusCode == http.StatusSwitchingProtocols {
		_ = resp.Body.Close()
		return
	}
	drainClose(resp, limitsDrain)
}

// limitedBody yields at most limit bytes of rc, then a
// *ResponseTooLargeError if rc has more, and closes rc then. rc is closed
// once, by that read or by Close, whichever comes first: io.Closer leaves
// a second Close undefined, and rc may be a body of the caller's own base
// transport.
type limitedBody struct {
	rc     io.ReadCloser
	left   int64
	limit  int64
	err    *ResponseTooLargeError // sticky: the too-large error once seen
	closed atomic.Bool            // rc has been closed (by Read or Close)
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Read one byte more than allowed, to tell "exactly at the limit"
	// from "over it". Compared as len(p)-1 > left: left+1 overflows when
	// the limit is math.MaxInt64.
	if int64(len(p))-1 > b.left {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.left {
		n = int(b.left)
		b.left = 0
		b.err = &ResponseTooLargeError{Part: "body", Limit: b.limit, Size: -1}
		// The body has ended for the caller, whose every read fails from
		// now on: the layers below, which never see this error, are told
		// by their Close (the throttle's MaxConcurrent slot, which a read
		// error gives back, is not held until a Close that may never
		// come). The caller's own Close, made already or still to come
		// (on another goroutine too), does not close it again.
		if b.closed.CompareAndSwap(false, true) {
			_ = b.rc.Close()
		}
		return n, b.err
	}
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error {
	if !b.closed.CompareAndSwap(false, true) {
		return nil // closed already, by the read past the limit
	}
	return b.rc.Close()
}
