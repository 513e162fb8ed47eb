package transport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"go.opentelemetry.io/otel/trace"
)

// Request ownership inside a stack.
//
// The RoundTripper contract forbids modifying the caller's request, so a
// layer used on its own must clone before it adds a header. Cloning in every
// layer would cost one Request.Clone (~0.85 µs and several allocations) per
// layer, so a stack clones ONCE per attempt with BeginAttempt and marks the
// clone as owned by that attempt. Inner layers call Own: inside a stack it
// returns the owned clone itself (free); used standalone it clones.
//
// A layer that needs a new context calls WithContext (not req.WithContext),
// which keeps the ownership mark on the shallow copy.

// Attempt is the per-attempt state a stack shares with its inner layers.
type Attempt struct {
	// Number is the 0-based resend count of this attempt
	// (http.request.resend_count in OTel terms).
	Number int

	owned *http.Request
	// srcHeader is the header of the request the attempt was made from:
	// what the caller and the call-level layers set. Never the owned
	// request's, which the inner layers change (and which, for a call's
	// first attempt, is the call's own copy itself: see beginCallAttempt).
	srcHeader http.Header
	// srcURL is the URL of the request the attempt was made from (an
	// inner layer may change the owned request's: an API key in the
	// query).
	srcURL *url.URL
	ctx    *attemptCtx // the context that carries this Attempt

	// Room for the attempt's response body wrappers and its deadline
	// context (one allocation for the attempt instead of one each); a layer
	// uses its slot only while it is unused.
	cancelBody cancelBody
	tracedBody tracedBody
	deadline   attemptDeadline

	// shareClock: the inner layers are all this package's
	// (RetryConfig.SharedClock), so they share one clock reading, now,
	// renewed after anything that may block; otherwise each reads the
	// clock.
	shareClock bool
	// replayed: a layer below the retry layer got a response for this
	// attempt and sends it again (the auth layer's replay after a 401):
	// whatever then refuses the replay, the host saw the attempt.
	replayed bool
	// nvals of vals are used (next to shareClock: no padding of its own).
	nvals uint8
	// shown: a response of the attempt carries its shown request
	// (showRequest), not the attempt's own.
	shown bool
	// hostScheme is the scheme of the URL host was found for, as
	// schemeCode gives it (a byte, in the padding here, rather than a
	// string: the call scope holding the first attempt must stay in its
	// allocator size class, TestCallScopeSizeClass).
	hostScheme uint8
	// injTraceparent and injTracestate: the trace propagation injected
	// into the owned request set a traceparent, a tracestate (attemptWatch,
	// in the padding here too).
	injTraceparent, injTracestate bool
	// signed has the bit (signLayer.bit) of each sign layer that has
	// signed the owned request (the last byte of padding here): only such
	// a layer may find on it a signature of its own earlier pass, which
	// dropOwnSignature looks for.
	signed uint8
	now    time.Time
	// host is HostKey of a URL with scheme hostScheme and host hostHost
	// (found once per attempt while the URL's host stays the same).
	host, hostHost string

	// detached is the attempt's context without the attempt, for token
	// sources (see detach).
	detached attemptDetached

	// conn, while set (by the breaker, around its call of the next
	// layer), is the attempt's httptrace.ClientTrace that learns the
	// connection the attempt used (see connProbe).
	// Atomic: a dial net/http goes on with after the attempt (its context
	// kept) may still look up values while the breaker disarms the probe.
	conn atomic.Pointer[connProbe]
	// probe, while set (by the breaker, around its call of the next
	// layer), is the breaker's half-open probe this attempt is: a
	// throttle below holds its clock while it waits (breakerProbe).
	probe *breakerProbe

	// vals is room for the values of header fields the inner layers set
	// (value).
	vals [3]string
}

// ownAttempt returns the attempt that owns req, or nil: a request that is
// not the attempt's own (a token fetch made with the attempt's context, a
// side request of a caller's layer) must not use or change its state.
func ownAttempt(req *http.Request) *Attempt {
	if a, ok := AttemptFrom(req.Context()); ok && a.owned == req {
		return a
	}
	return nil
}

// clock returns a clock reading for a layer of attempt a (nil: none): the
// attempt's shared reading when its layers share one, else time.Now.
func (a *Attempt) clock() time.Time { return a.clockWith(time.Now) }

// clockWith is clock reading now instead of time.Now.
func (a *Attempt) clockWith(now func() time.Time) time.Time {
	if a == nil || !a.shareClock {
		return now()
	}
	if a.now.IsZero() {
		a.now = now()
	}
	return a.now
}

// clockMoved tells attempt a (nil: none) that its shared reading is stale:
// a layer waited, or called something that may have blocked.
func (a *Attempt) clockMoved() {
	if a != nil {
		a.now = time.Time{}
	}
}

// hostKey returns HostKey(u), found once per attempt while u's scheme and
// host stay the same (a layer that sends elsewhere gets the other host's).
func (a *Attempt) hostKey(u *url.URL) string {
	if a == nil || u == nil {
		return HostKey(u)
	}
	sc := schemeCode(u.Scheme)
	if a.host == "" || sc == 0 || a.hostScheme != sc || a.hostHost != u.Host {
		a.host, a.hostScheme, a.hostHost = HostKey(u), sc, u.Host
	}
	return a.host
}

// schemeCode is 1 for "http", 2 for "https" (as url.Parse gives them,
// lower case), 0 for any other scheme, whose host key is then found again
// on every use.
func schemeCode(s string) uint8 {
	switch s {
	case "http":
		return 1
	case "https":
		return 2
	}
	return 0
}

// attemptDetached is a context of the attempt that carries neither the
// attempt nor its call's state (scope, record, call state) nor the route
// the call was named with (WithRoute): a request made with it (a token
// fetch) is a call of its own. Everything else, the caller's values and
// the current span included, stays visible.
type attemptDetached struct{ context.Context }

func (c *attemptDetached) Value(key any) any {
	switch key.(type) {
	case attemptKey, callScopeKey, callKey, callRecordKey, routeKey:
		// The route too: a call record above hides it (callRecord.value),
		// but a stack without one (no inventory, no audit log) would hand
		// the caller's route to the token request.
		return nil
	}
	if key == httptraceKey && httptraceKey != nil {
		// A token fetch's connection is not the attempt's: it sees the
		// caller's trace, never the breaker's probe. Looked up above the
		// attempt's context, not through the probe: a refresh goes on
		// (on its own goroutine, net/http's dial too) while the breaker
		// arms and disarms it.
		if a, _ := c.Context.Value(attemptKey{}).(*Attempt); a != nil && a.ctx != nil {
			return a.ctx.Context.Value(key)
		}
	}
	return c.Context.Value(key)
}

// samePointerCtx reports whether x and y are the same context of this
// package's pointer types; false for anything else (comparing two
// interface values of an uncomparable type would panic).
func samePointerCtx(x, y context.Context) bool {
	switch p := x.(type) {
	case *attemptCtx:
		q, ok := y.(*attemptCtx)
		return ok && p == q
	case *attemptDeadline:
		q, ok := y.(*attemptDeadline)
		return ok && p == q
	}
	return false
}

// detach returns ctx (a context of attempt a, nil: none) without the
// attempt, for a token source: its own requests (a fetch, a background
// refresh on another goroutine) belong to other stacks and must not find
// this attempt. The first call of an attempt costs no allocation.
func (a *Attempt) detach(ctx context.Context) context.Context {
	if a == nil {
		return ctx
	}
	if a.detached.Context == nil {
		a.detached.Context = ctx
		return &a.detached
	}
	if samePointerCtx(a.detached.Context, ctx) {
		return &a.detached
	}
	return &attemptDetached{ctx}
}

// attemptDeadline is the context the attempt-timeout layer hands on: the
// attempt's lazy deadline, answering for the attempt itself (AttemptFrom).
// The layers above keep the attempt's own context, untouched, so the
// attempt timeout's cancellation is not theirs.
type attemptDeadline struct {
	lazyDeadline
	a     *Attempt        // set when in use
	entry context.Context // the request's context when it reached the layer
}

func (c *attemptDeadline) Value(key any) any {
	if key == (attemptKey{}) {
		return c.a
	}
	if key == httptraceKey && key != nil && c.a != nil {
		// As the attempt's own context answers (attemptCtx.Value): the
		// lazy deadline's parent may be above the attempt's context (a
		// call's first attempt gets its deadline on the call deadline's
		// parent), and net/http would not find the breaker's probe.
		if p := c.a.conn.Load(); p != nil {
			return p.trace
		}
	}
	return c.lazyDeadline.Value(key)
}

type attemptKey struct{}

// attemptCtx carries the Attempt in the context without a separate
// context.WithValue allocation, with room for the header values the inner
// layers add. An attempt that copies its request holds the copy next to
// it (attemptCopy), so an attempt costs one allocation plus its header
// map; a call's first attempt, which may take the call's own copy of the
// request instead, lives in the call scope (callScope.first) and costs
// only its header map.
type attemptCtx struct {
	context.Context
	a Attempt
}

func (c *attemptCtx) Value(key any) any {
	if key == (attemptKey{}) {
		return &c.a
	}
	if key == httptraceKey && key != nil {
		if p := c.a.conn.Load(); p != nil {
			return p.trace
		}
	}
	return c.Context.Value(key)
}

// attemptCopy is an attempt with its own copy of the request and its URL
// (what beginAttempt makes).
type attemptCopy struct {
	attemptCtx
	req http.Request
	url url.URL
}

// attemptHeaderRoom is how many header fields the map of an attempt's
// clone has room for beyond the caller's: the ones a full stack adds
// (Authorization, Signature-Input, Signature, Content-Digest, Traceparent,
// Idempotency-Key), so adding them never grows the map.
const attemptHeaderRoom = 6

// BeginAttempt clones req once for attempt number n (0-based) and returns
// the clone, which the inner layers of the attempt may modify in place. The
// clone shares req.Body; a caller that replays a body sets the clone's Body
// from req.GetBody.
func BeginAttempt(req *http.Request, n int) *http.Request {
	return beginAttempt(req, n, "", time.Time{}, false)
}

// initAttempt sets up c for attempt number n of a request with context
// ctx, header h and URL u: see beginAttempt for host, now and share.
func initAttempt(c *attemptCtx, ctx context.Context, h http.Header, u *url.URL, n int, host string, now time.Time, share bool) {
	c.Context = ctx
	c.a.Number, c.a.srcHeader, c.a.srcURL, c.a.shareClock, c.a.ctx = n, h, u, share, c
	if share {
		c.a.now = now
	}
	if host != "" && u != nil {
		c.a.host, c.a.hostScheme, c.a.hostHost = host, schemeCode(u.Scheme), u.Host
	}
}

// copyable reports whether req may be copied field by field (what
// Request.Clone copies, into the attempt's own memory): a request with
// forms, userinfo or path values, never seen on the hot path, takes
// Request.Clone instead.
func copyable(req *http.Request) bool {
	return req.URL != nil && req.URL.User == nil && req.MultipartForm == nil && req.Form == nil && req.PostForm == nil && !hasPathValues(req)
}

// beginAttempt is BeginAttempt for a layer that has already found the
// request's host key and, when share is set (its inner layers are all this
// package's), read the clock: the inner layers take them from the Attempt
// instead of finding them again.
func beginAttempt(req *http.Request, n int, host string, now time.Time, share bool) *http.Request {
	c := &attemptCopy{}
	initAttempt(&c.attemptCtx, req.Context(), req.Header, req.URL, n, host, now, share)
	var r *http.Request
	if copyable(req) {
		c.req = *req
		setContext(&c.req, &c.attemptCtx)
		c.url = *req.URL
		c.req.URL = &c.url
		c.req.Header = cloneHeaderRoom(req.Header, attemptHeaderRoom)
		c.req.Trailer = req.Trailer.Clone()
		if s := req.TransferEncoding; s != nil {
			c.req.TransferEncoding = slices.Clone(s)
		}
		r = &c.req
	} else {
		r = req.Clone(&c.attemptCtx)
	}
	c.a.owned = r
	return r
}

// beginCallAttempt starts the first attempt of call scope cs on req, the
// call's own copy (ownedScope(req) == cs), without copying it again: req
// itself becomes the attempt's owned request, with its own header map,
// URL (in cs.url), trailer and transfer encoding, and the attempt state
// lives in cs.first. It falls back to beginAttempt (a copy) when req may
// not be copied field by field, or when cs has already lent its request.
//
// From then on req is the attempt's: the inner layers change it in place
// and the base transport may hold it after the attempt. So the caller (the
// retry layer) takes a copy of *req's fields BEFORE the call (the values
// every later attempt and every decision use), and the call-level layers
// above it read what they need of their request before they call next,
// never after (they would see the attempt's headers and URL: its
// credentials). ownedScope(req) is nil from here on.
func beginCallAttempt(cs *callScope, req *http.Request, host string, now time.Time, share bool) *http.Request {
	if cs.lent || !copyable(req) {
		return beginAttempt(req, 0, host, now, share)
	}
	cs.lent = true
	c := &cs.first
	initAttempt(c, req.Context(), req.Header, req.URL, 0, host, now, share)
	cs.url = *req.URL
	h := cloneHeaderRoom(req.Header, attemptHeaderRoom)
	tr := req.Trailer.Clone()
	te := req.TransferEncoding
	if te != nil {
		te = slices.Clone(te)
	}
	setContext(req, c) // in place
	req.URL = &cs.url
	req.Header = h
	req.Trailer = tr
	req.TransferEncoding = te
	c.a.owned = req
	return req
}

// showRequest points resp.Request, when it is an attempt's request (its
// context carries the attempt: the owned request, a replay's fork, a
// base transport's copy of either), at the attempt's shown request: a
// shallow copy of it (the same context, so Attempts and the timeouts'
// cancellation still answer from it; the same method, body and
// redirect chain) with the header and URL of the request the attempt was
// made from, the caller's. The attempt's own request carries what the
// inner layers added: the bearer token, the API key (header or query),
// the signature; a caller that logs or dumps resp.Request
// (httputil.DumpRequestOut) would print them.
//
// The attempt's request itself is left alone: net/http may still be
// writing it (an HTTP/1.1 request written concurrently with an early
// answer, an HTTP/2 body still streaming), so changing its header map
// would race with the write. The copy is one allocation (320 B) per
// call: room for it in the attempt would push the call scope, which
// holds the first attempt, into the next allocator size class (+512 B).
func showRequest(resp *http.Response) {
	if resp == nil || resp.Request == nil {
		return
	}
	a, ok := AttemptFrom(resp.Request.Context())
	if !ok || a.shown {
		return
	}
	a.shown = true
	shown := new(http.Request)
	*shown = *resp.Request
	shown.Header = a.srcHeader
	if a.srcURL != nil {
		shown.URL = a.srcURL
	}
	resp.Request = shown
}

// syncTrailer makes r, an attempt's own request (whose Trailer is a copy
// taken when the attempt began), send the trailer values its source's
// body fills while it is read: net/http lets a client update the values of
// the trailer it declared until the body returns EOF, and reads them
// then, so a copy taken before would send them empty (or, on a retry,
// with the previous attempt's values). src is the source's Trailer (the
// caller's map). At EOF, on the goroutine reading the body (the one
// filling src and, after it, writing the trailer), the values src holds
// for the keys r's trailer declares are copied into r's; a key src gained
// while the body was read is not (net/http wants the keys declared before
// the body is sent, and the checks made before sending never saw it). A
// request without a declared trailer or a body is left as it is.
func syncTrailer(r *http.Request, src http.Header) {
	if len(src) == 0 || r.Trailer == nil || r.Body == nil || r.Body == http.NoBody {
		return
	}
	r.Body = &trailerSyncBody{ReadCloser: r.Body, src: src, dst: r.Trailer}
}

// trailerSource returns the trailer a fresh body of r (one from
// r.GetBody, the caller's) fills while it is read: the source of r's body
// when syncTrailer wrapped it (followed through every layer that did),
// else r's own Trailer. A replay (the retry layer's, the auth layer's)
// syncs its request from it: its body does not pass through the
// wrappers of the first send, so the trailers in between never see the
// values.
func trailerSource(r *http.Request) http.Header {
	tr := r.Trailer
	for body := r.Body; ; {
		switch b := body.(type) {
		case *trailerSyncBody:
			tr, body = b.src, b.ReadCloser
		case *callerBody: // the breaker's, over the attempt's body
			body = b.ReadCloser
		default:
			return tr
		}
	}
}

// trailerSyncBody is the body syncTrailer gives an attempt.
type trailerSyncBody struct {
	io.ReadCloser
	src, dst http.Header
	done     bool
}

// UnwrapBody returns the body b reads: reqbody.Same looks through b
// for a GetBody that returns the request's own body, which the sign
// layer, the retry layer and the 401 replay refuse
// (signer.ErrBodyNotReplayable).
func (b *trailerSyncBody) UnwrapBody() io.ReadCloser { return b.ReadCloser }

func (b *trailerSyncBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		// Only the keys dst holds: those declared when the attempt began,
		// which the checks made before sending (the plain-http credential
		// guard, signing, redaction) saw. net/http wants every trailer key
		// declared before the body is sent; a key src gained while the
		// body was read would reach the wire past those checks.
		for k := range b.dst {
			if vv, ok := b.src[k]; ok {
				b.dst[k] = slices.Clone(vv)
			}
		}
	}
	return n, err
}

// pathValueFields are the offsets in http.Request of its unexported
// path-value fields, matches ([]string) and otherValues
// (map[string]string): what SetPathValue writes, which Request.Clone
// copies and a plain struct copy would share. ok is false when this Go's
// Request lacks them, or has them with other types (then every attempt
// takes Request.Clone). Read through their offsets, not with reflect
// (~200 instructions an attempt for two Field and Len calls).
var pathValueFields = func() (f struct {
	matches, otherValues uintptr
	ok                   bool
}) {
	t := reflect.TypeFor[http.Request]()
	m, ok1 := t.FieldByName("matches")
	o, ok2 := t.FieldByName("otherValues")
	if !ok1 || !ok2 || len(m.Index) != 1 || len(o.Index) != 1 ||
		m.Type != reflect.TypeFor[[]string]() || o.Type != reflect.TypeFor[map[string]string]() {
		return f
	}
	f.matches, f.otherValues, f.ok = m.Offset, o.Offset, true
	return f
}()

// ctxField is the offset in http.Request of its unexported context field
// (ctx, a context.Context): what WithContext sets in its copy. ok is false
// when this Go's Request lacks it, or has it with another type (then
// setContext copies the request through WithContext).
var ctxField = func() (f struct {
	off uintptr
	ok  bool
}) {
	c, ok := reflect.TypeFor[http.Request]().FieldByName("ctx")
	if !ok || len(c.Index) != 1 || c.Type != reflect.TypeFor[context.Context]() {
		return f
	}
	f.off, f.ok = c.Offset, true
	return f
}()

// setContext gives r the context ctx (not nil) in place, as
// *r = *r.WithContext(ctx) does, without copying the request twice
// (~150 instructions a call: WithContext's copy, then the copy back).
// For a request of this package's own (an attempt's or the call's copy)
// that no other goroutine reads yet.
func setContext(r *http.Request, ctx context.Context) {
	if !ctxField.ok {
		*r = *r.WithContext(ctx)
		return
	}
	*(*context.Context)(unsafe.Add(unsafe.Pointer(r), ctxField.off)) = ctx
}

// hasPathValues reports whether r carries path values (a server request
// matched by a pattern, or SetPathValue), or when it cannot tell.
func hasPathValues(r *http.Request) bool {
	if !pathValueFields.ok {
		return true
	}
	p := unsafe.Pointer(r)
	return len(*(*[]string)(unsafe.Add(p, pathValueFields.matches))) > 0 ||
		len(*(*map[string]string)(unsafe.Add(p, pathValueFields.otherValues))) > 0
}

// cloneHeaderRoom is http.Header.Clone with room for extra more fields in
// the map, so that fields added later do not grow it. A nil header gives
// an empty map (inner layers add to it).
func cloneHeaderRoom(h http.Header, extra int) http.Header {
	if len(h) == 0 {
		return make(http.Header, extra) // no map iteration to start
	}
	nv := 0
	for _, vv := range h {
		nv += len(vv)
	}
	h2 := make(http.Header, len(h)+extra)
	if nv == 0 && len(h) == 0 {
		return h2
	}
	sv := make([]string, nv) // one backing array for the values, as Header.Clone
	for k, vv := range h {
		if vv == nil {
			h2[k] = nil // kept: nil and empty differ for some users
			continue
		}
		n := copy(sv, vv)
		h2[k] = sv[:n:n]
		sv = sv[n:]
	}
	return h2
}

// setHeader sets the single value v of the canonical header field key on
// r, taking the value slice from r's attempt when r is the attempt's own
// request (no allocation).
func setHeader(r *http.Request, key, v string) {
	if a := ownAttempt(r); a != nil {
		r.Header[key] = a.value(v)
		return
	}
	r.Header[key] = []string{v}
}

// replaceHeader sets the single value v of the canonical header field key
// on r, which the caller owns, as setHeader does, after removing every
// other spelling of key from r's header ("authorization" for
// "Authorization"): net/http sends the lines of every key (HTTP/1.1 as
// written, HTTP/2 lower-cased) and the signer merges them into the
// canonical key, so a line left under another spelling would go out, and
// be signed, next to v. Only keys whose canonical form is key are removed:
// a key that is not a valid field name is left for net/http to refuse.
func replaceHeader(r *http.Request, key, v string) {
	dropSpellings(r.Header, key)
	setHeader(r, key, v)
}

// dropSpellings removes from h, which the caller owns, every key other
// than key (canonical) whose canonical form is key.
func dropSpellings(h http.Header, key string) {
	if len(h) == 0 {
		return // no map iteration to start
	}
	for k := range h {
		if k != key && len(k) == len(key) && strings.EqualFold(k, key) && textproto.CanonicalMIMEHeaderKey(k) == key {
			delete(h, k)
		}
	}
}

// value returns a one-element slice holding v, from the attempt's room
// while it lasts. Only the attempt's goroutine calls it (inner layers on
// the way down).
func (a *Attempt) value(v string) []string {
	if int(a.nvals) < len(a.vals) {
		i := a.nvals
		a.nvals++
		a.vals[i] = v
		return a.vals[i : i+1 : i+1]
	}
	return []string{v}
}

// AttemptFrom returns the attempt state of ctx, if ctx belongs to an attempt
// started with BeginAttempt.
func AttemptFrom(ctx context.Context) (*Attempt, bool) {
	// Every per-attempt layer asks, mostly of the attempt's own context or
	// its deadline: those two answer here as their Value does, without the
	// interface call and key comparisons of a Value walk.
	switch c := ctx.(type) {
	case *attemptCtx:
		return &c.a, true
	case *attemptDeadline:
		return c.a, true
	}
	a, ok := ctx.Value(attemptKey{}).(*Attempt)
	return a, ok
}

// sourceHeader returns the header of the request the attempt was cloned
// from: what the layers above the attempt (and the caller) set, as opposed to
// what inner layers added to the owned clone.
func (a *Attempt) sourceHeader() http.Header { return a.srcHeader }

// Own returns a request the calling layer may modify: req itself when req is
// the request owned by the current attempt, otherwise a clone (headers deep
// copied, body shared; a declared trailer the body fills while it is read
// reaches the clone's copy, see syncTrailer).
func Own(req *http.Request) *http.Request {
	if ownAttempt(req) != nil {
		return req
	}
	r := req.Clone(req.Context())
	syncTrailer(r, req.Trailer) // the clone's Trailer is a copy
	return r
}

// WithContext returns req with ctx, like req.WithContext. When req is owned
// by the current attempt (BeginAttempt), or is the call's own copy of the
// caller's request (made by the call-trace layer), the context is replaced
// in place and req itself is returned: no copy, and the ownership mark
// stays. Otherwise it returns a shallow copy, as req.WithContext does.
//
// In-place replacement is safe because an owned request is only changed on
// its way down the stack, before the inner layers (and the base transport)
// see it; a layer that needs its own context after calling next keeps the
// one it read on entry instead of asking the request again.
func WithContext(req *http.Request, ctx context.Context) *http.Request {
	if ctx == nil {
		panic("transport: WithContext: nil context")
	}
	if ownedInPlace(req) {
		setContext(req, ctx)
		return req
	}
	return req.WithContext(ctx)
}

// ownedInPlace reports whether req is owned by its attempt or, outside any
// attempt, by its call scope.
func ownedInPlace(req *http.Request) bool {
	ctx := req.Context()
	if a, ok := AttemptFrom(ctx); ok {
		return a.owned == req
	}
	if c := callScopeFrom(ctx); c != nil {
		return c.owned(req)
	}
	return false
}

// fork returns a copy of r for a second send within the same attempt (the
// auth layer's single replay after a 401), carrying ctx (the context r had
// when the forking layer received it: inner layers may have replaced r's
// since). It has a new header map and URL and the same body (the caller
// sets the replay body). When r belongs to an attempt, the copy becomes the
// attempt's owned request, so the inner layers modify it in place again; r
// itself may still be held by the discarded response and is left alone.
// The copy has its own Trailer (a copy of r's): a caller that gives it a
// fresh body syncs it with syncTrailer(r2, trailerSource(r)).
func fork(r *http.Request, ctx context.Context) *http.Request {
	r2 := r.WithContext(ctx)
	r2.Header = r.Header.Clone()
	// Its own trailer: r's body may still be read on another goroutine
	// (the first send's), which fills r's trailer at EOF.
	r2.Trailer = r.Trailer.Clone()
	u := *r.URL
	r2.URL = &u
	if a, ok := AttemptFrom(ctx); ok && a.owned == r {
		a.owned = r2
		a.now = time.Time{} // a second send: its clock reading is its own
	}
	return r2
}

// callScope is the state one call (one request through the stack, before
// its attempts) shares with the call-level layers, carried in its context
// as a single allocation: the call's own copy of the caller's request
// (owned, so later call-level layers replace its context in place), the
// inventory's call record, the call span's state and body wrapper, and
// room for the total deadline and the response-limit body wrapper. The
// call-trace layer creates it.
type callScope struct {
	context.Context
	start time.Time // when the call began
	// elapsed is how long after start the response headers arrived, when
	// the inventory read the clock then (0: it did not). A duration, not
	// the reading itself, to keep the scope in the allocator's 1 280 B
	// size class.
	elapsed time.Duration
	span    trace.Span // when set, the context's current span (tracing off)
	// firstSend is the call span when it may stand for the call's first
	// send (a client span); the attempt trace of attempt 0 takes it once
	// (scopeFirstTaken), safe even when a call layer sends concurrently.
	firstSend trace.Span
	flags     atomic.Uint32 // scopeFirstTaken, scopeBodyTaken
	// owns: req is the call's own copy of the caller's request (the
	// owned request, see owned); cleared at a call-layer boundary.
	owns bool
	// lent: owned has become the call's first attempt's request
	// (beginCallAttempt); it is no longer the call's own copy.
	lent     bool
	rec      callRecord // valid once rec.url is set (withCallRecord)
	state    callState
	body     tracedBody
	deadline callDeadline // used by the total-timeout layer (parent set)
	limited  limitedBody  // used by the limits layer (rc set)
	req      http.Request // the call's own copy (while owns is set)
	// The call's first attempt when it takes req (beginCallAttempt): its
	// state, and its URL (req's URL is the caller's, which an inner layer
	// may not change).
	first attemptCtx
	url   url.URL
}

type callScopeKey struct{}

// The bits of callScope.flags.
const (
	// scopeFirstTaken: the call span stands for the call's first send
	// (firstSend), taken by an attempt trace.
	scopeFirstTaken = 1 << iota
	// scopeBodyTaken: a layer of this package took charge of the call's
	// request body below a NewCallLayerBoundary (closed it, or began the
	// call's first attempt with it, the base transport closing it), or
	// the boundary closed it: the boundary closes it no more (takeBody).
	scopeBodyTaken
)

// takeBody records that a layer of this package took charge of the
// request body of ctx's call (see scopeBodyTaken), when ctx has a call
// scope; it reports whether the body was taken before.
func takeBody(ctx context.Context) bool {
	if c := callScopeFrom(ctx); c != nil {
		return c.flags.Or(scopeBodyTaken)&scopeBodyTaken != 0
	}
	return false
}

// takeCallBody records, for a Base about to send req outside an attempt
// (no retry layer or attempt scope between it and a caller's layer below a
// NewCallLayerBoundary), that req's body is taken when it is the call's
// (net/http closes it): the boundary closes it no more. A body a caller's
// layer put in its place is not the call's, which the boundary still
// closes on a panic.
func takeCallBody(req *http.Request) {
	c := callScopeFrom(req.Context())
	if c == nil {
		return
	}
	// Compared only when == cannot panic: a body of a value type with a
	// slice or map in it (two of the same type) is not comparable, and
	// one reflect calls comparable (a struct with an interface field, as
	// io.NopCloser's) may hold an uncomparable value (sameBody).
	if t := reflect.TypeOf(req.Body); t == reflect.TypeOf(c.req.Body) && t.Comparable() && sameBody(req.Body, c.req.Body) {
		c.flags.Or(scopeBodyTaken)
	}
}

// sameBody reports whether a == b, two bodies of one comparable type:
// false when == panics on them, a struct's interface field holding a
// value of an uncomparable type (io.NopCloser(r), r a value type with a
// slice in it), which reflect.Type.Comparable cannot see.
func sameBody(a, b io.ReadCloser) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

// owned reports whether req is the scope's own copy of the caller's
// request (its req, while owns is set).
func (c *callScope) owned(req *http.Request) bool { return c.owns && req == &c.req }

func (c *callScope) Value(key any) any {
	switch key.(type) {
	case callScopeKey:
		return c
	case callKey:
		return &c.state
	}
	if c.span != nil && key == otelSpanKey && otelSpanKey != nil {
		return c.span
	}
	if c.rec.url != nil {
		if v, ok := c.rec.value(key); ok {
			return v
		}
	}
	return c.Context.Value(key)
}

func callScopeFrom(ctx context.Context) *callScope {
	c, _ := ctx.Value(callScopeKey{}).(*callScope)
	return c
}

// NewCallLayerBoundary returns a layer for the edge between this package's
// call-level layers and layers it does not know (client.WithCallLayer):
// from it inward, the request is no longer the call's own copy, so the
// inner layers copy it before they change it, as a layer that sends its
// request twice, or from two goroutines, needs; and the retry layer's first
// attempt copies it too, instead of taking it (beginCallAttempt), so the
// foreign layers never see what the attempt's layers do to it (its
// credentials). Stacks put it just outside the foreign layers; without them
// it is not needed. It also holds the
// foreign layers to the http.RoundTripper contract for the layers outside:
// neither a response nor an error becomes an error (and the request's
// body is closed, as on any error), a response returned with an error is
// closed, and a response without a body gets http.NoBody. A foreign layer
// that panics (or calls runtime.Goexit) has the request's body closed, as
// RoundTrip must on every path, and its panic goes on unchanged. Under
// NewCallTrace the body is closed then only when no layer of this package
// below the foreign layers took it (closed it, or sent it in the call's
// first attempt, where the base transport closes it, or a Base right
// below the foreign layers sent it), so that it is never closed twice;
// without a call trace above, it is closed on any panic. A foreign layer
// that sends the body through a transport of its own (not this package's
// layers or Base) and then panics has it closed by that transport and
// again by the boundary, which cannot know.
func NewCallLayerBoundary(next http.RoundTripper) http.RoundTripper {
	return &callLayerBoundary{next: orDefault(next)}
}

type callLayerBoundary struct{ next http.RoundTripper }

func (b *callLayerBoundary) RoundTrip(req *http.Request) (*http.Response, error) {
	sc := callScopeFrom(req.Context())
	if sc != nil && sc.owned(req) && !sc.lent { // ownedScope(req)
		sc.owns = false
	}
	body, returned := req.Body, false
	defer func() {
		if !returned && body != nil && body != http.NoBody && (sc == nil || sc.flags.Or(scopeBodyTaken)&scopeBodyTaken == 0) {
			// A panic below (a bug in a foreign layer) before a layer of
			// this package took the body: the panic goes on, but the
			// body, which the caller may write through a pipe, is closed
			// first, as RoundTrip must on every path.
			_ = body.Close()
		}
	}()
	resp, err := b.next.RoundTrip(req)
	returned = true
	// The layers outside rely on the http.RoundTripper contract, which a
	// foreign layer may break: exactly one of a response and an error.
	switch {
	case err != nil && resp != nil:
		if resp.Body != nil {
			_ = resp.Body.Close()
		}
		return nil, err
	case err == nil && resp == nil:
		// Most likely refused without calling next and without closing
		// the body, which the layers outside (and the caller) take as
		// closed on an error: a pipe's writer would block for ever.
		closeBody(req)
		return nil, errNoResponse
	case err == nil && resp.Body == nil:
		resp.Body = http.NoBody
	}
	return resp, err
}

// errNoResponse stands for the error a call layer that returned neither a
// response nor an error did not give.
var errNoResponse = errors.New("transport: a call layer returned neither a response nor an error")

// ownedScope returns req's call scope when req is the call's own copy (and
// has not become the call's first attempt's request).
func ownedScope(req *http.Request) *callScope {
	if c := callScopeFrom(req.Context()); c != nil && c.owned(req) && !c.lent {
		return c
	}
	return nil
}

// otelSpanKey is the context key under which go.opentelemetry.io/otel/trace
// keeps the current span, learned once by letting trace.SpanFromContext
// look it up in a probe. It lets a callScope answer for the span without a
// second context allocation. nil if the probe saw no lookup (callScope then
// never sets span; TestOTelSpanKeyProbe fails).
var otelSpanKey = func() any {
	p := &keyProbe{Context: context.Background()}
	_ = trace.SpanFromContext(p)
	return p.key
}()

// keyProbe records the first key it is asked for.
type keyProbe struct {
	context.Context
	key any
}

func (p *keyProbe) Value(key any) any {
	if p.key == nil {
		p.key = key
	}
	return nil
}

// NewAttemptScope returns a layer that starts a single attempt: it makes the
// one per-attempt clone (BeginAttempt) and hands it to next. A stack without
// a retry layer uses it so that its inner layers share one clone; the retry
// layer replaces it and calls BeginAttempt once per attempt.
func NewAttemptScope(next http.RoundTripper) http.RoundTripper {
	return &attemptScope{next: orDefault(next)}
}

type attemptScope struct{ next http.RoundTripper }

func (s *attemptScope) RoundTrip(req *http.Request) (*http.Response, error) {
	r := BeginAttempt(req, 0)
	syncTrailer(r, req.Trailer)
	if r.Body != nil && r.Body != http.NoBody {
		takeBody(r.Context()) // the call's, sent: for a NewCallLayerBoundary above
	}
	resp, err := nextAnswer(s.next.RoundTrip(r))
	if err == nil {
		showRequest(resp)
	}
	return resp, err
}

// orDefault returns next, or http.DefaultTransport when next is nil. A
// next holding a nil pointer (a *Base or *http.Transport variable never
// assigned: no nil interface) would panic on every call; it becomes a
// RoundTripper refusing every call with checkNext's *ConfigError, for
// the constructors that return no error (the others refuse it).
func orDefault(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		return http.DefaultTransport
	}
	if err := checkNext(next); err != nil {
		return refuseAll{err}
	}
	return next
}

// checkNext refuses a next that holds a nil pointer: a *ConfigError
// naming next, where every call through it would panic.
func checkNext(next http.RoundTripper) error { return typedNil("next", next) }

// refuseAll refuses every request with err, its body closed.
type refuseAll struct{ err error }

func (r refuseAll) RoundTrip(req *http.Request) (*http.Response, error) {
	closeBody(req)
	return nil, r.err
}
