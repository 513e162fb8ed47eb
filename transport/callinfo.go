package transport

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
)

// The per-call record.
//
// A call (one RoundTrip through a stack, before retries) learns things on
// its way down that the layers recording it on the way up want to know:
// which route it was (given by the caller with WithRoute, or found by the
// OpenAPI layer with SetRoute), which kinds of authentication the inner
// layers attached (MarkAuth) and whether its connection was pinned
// (MarkPinned). The record lives in the request context. The first
// per-call layer that needs it (inventory, audit, OpenAPI validation)
// creates it; inner layers mark it with the functions below, which cost a
// context lookup and an atomic operation and do nothing when no record
// exists (a layer used without an inventory or audit layer above it).
//
// Marks are cumulative over the call's attempts: a call whose first
// attempt went out with a token and whose replay also carried a signature
// is recorded as bearer+hmac.

// AuthKind is a set of authentication mechanisms a call used. The zero
// value, AuthNone, means no credential was attached.
type AuthKind uint32

// The authentication mechanisms MarkAuth records. Each is one bit; a call
// can use several (a bearer token on an mTLS connection, signed with HMAC).
const (
	// AuthNone: no credential.
	AuthNone AuthKind = 0
	// AuthBearer: a bearer token (OAuth2 access token) in Authorization.
	AuthBearer AuthKind = 1 << (iota - 1)
	// AuthAPIKey: an API key in a header or a query parameter.
	AuthAPIKey
	// AuthHMAC: an HMAC (or other) request signature, such as an RFC 9421
	// HTTP Message Signature.
	AuthHMAC
	// AuthMTLS: the https:// call got a response over TLS through a base
	// transport configured with a client certificate
	// (BaseConfig.ClientCertificate, TLSConfig.Certificates or
	// TLSConfig.GetClientCertificate), which it presents whenever the
	// server asks for one (mutual TLS). It does not tell whether the
	// server asked: a call to a server that never requests a client
	// certificate, which then sent none, is marked too, so it does not
	// show that the endpoint authenticated the client. An http:// call
	// through an https:// proxy is not marked: only the proxy was
	// offered the certificate.
	AuthMTLS
	// AuthBasic: HTTP Basic credentials.
	AuthBasic
	// AuthOther: a credential of another kind.
	AuthOther

	authAll = AuthBearer | AuthAPIKey | AuthHMAC | AuthMTLS | AuthBasic | AuthOther
)

// authNames are the names of the AuthKind bits, lowest bit first.
var authNames = [...]string{"bearer", "api_key", "hmac", "mtls", "basic", "other"}

// authStrings caches String for every combination of the defined bits, so
// recording a kind never builds a string.
var authStrings = func() (s [authAll + 1]string) {
	for k := range s {
		s[k] = AuthKind(k).build()
	}
	return s
}()

// String returns the names of the kinds in k joined with "+", lowest bit
// first ("bearer+hmac"), or "none".
func (k AuthKind) String() string {
	if k&^authAll == 0 {
		return authStrings[k]
	}
	return k.build()
}

func (k AuthKind) build() string {
	if k == AuthNone {
		return "none"
	}
	var b strings.Builder
	for i, n := range authNames {
		if k&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte('+')
			}
			b.WriteString(n)
		}
	}
	if k&^authAll != 0 {
		if b.Len() > 0 {
			b.WriteByte('+')
		}
		b.WriteString("unknown")
	}
	return b.String()
}

// Names returns the names of the kinds in k, lowest bit first; nil for
// AuthNone.
func (k AuthKind) Names() []string {
	var out []string
	for i, n := range authNames {
		if k&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// flag bits of callRecord.flags above the AuthKind bits.
const (
	flagPinned = 1 << 24
	// flagDone: the layer that made the record has returned; the call is
	// over (but for its response body), and a call made later with a
	// context derived from its request's (resp.Request.Context()) is
	// another call, which must neither see nor mark this record.
	flagDone = 1 << 25
)

// callRecord is the per-call record.
type callRecord struct {
	url   *url.URL // the URL of the call's request: identifies the call
	route string   // set before the call proceeds, on the call's goroutine
	flags atomic.Uint32
}

type callRecordKey struct{}

// routeKey is the context key of WithRoute.
type routeKey struct{}

// callRecordCtx carries the record without a separate WithValue
// allocation. It hides a route set with WithRoute above it: that route was
// the call's and is in the record; a call made below with this context (a
// token refresh) must not inherit it.
type callRecordCtx struct {
	context.Context
	rec callRecord
}

func (c *callRecordCtx) Value(key any) any {
	if v, ok := c.rec.value(key); ok {
		return v
	}
	return c.Context.Value(key)
}

// value answers the context keys of a per-call context that carries r: the
// record itself, and no WithRoute route (hidden from calls made below).
// Another per-call context type of this package (the call trace's) can
// embed a callRecord, set it up with init and answer through value, so
// that a stack pays one context allocation for both.
func (r *callRecord) value(key any) (any, bool) {
	switch key.(type) {
	case callRecordKey:
		return r, true
	case routeKey:
		return nil, true
	}
	return nil, false
}

// init sets r up for the call of req, whose context is ctx; hop says req
// is a redirect hop (see redirects), not req.Response alone, which a new
// call built from a redirected call's response keeps.
func (r *callRecord) init(ctx context.Context, req *http.Request, hop bool) {
	if !hop {
		// Not a redirect hop: http.Client gives every hop the first
		// request's context, but the route names the first URL only.
		// Read before r.url is set: a context embedding r (the call
		// scope) hides the route once r is set up (value).
		r.route, _ = ctx.Value(routeKey{}).(string)
	}
	r.url = req.URL
}

// callRecordFrom returns the record of the call in progress that ctx
// belongs to: nil when ctx holds none, or only that of a call which is
// over (ctx derived from its response's request context).
func callRecordFrom(ctx context.Context) *callRecord {
	r, _ := ctx.Value(callRecordKey{}).(*callRecord)
	if r != nil && r.flags.Load()&flagDone != 0 {
		return nil
	}
	return r
}

// finish marks r done: the layer that made it (withCallRecord's created)
// calls it once its RoundTrip returns.
func (r *callRecord) finish() { r.mark(flagDone) }

// withCallRecord returns the record of the call req belongs to and a
// request carrying it. A record belongs to the call when it was made for
// the same URL (a per-call layer in between may have cloned the request).
// When req's context holds no record for this call (none, that of an
// outer call which made this one, a token refresh, with its context, or
// that of an earlier call which is over, whose response's request context
// the caller made this one with), a new one is made, starting with the
// route of WithRoute (except for a redirect hop, whose URL the route does
// not describe: hop, which the caller learns from its redirects set), and
// created is true: the caller then calls rec.finish
// once its RoundTrip returns. Inside a call scope that owns req (the
// call-trace layer's copy), the record is the scope's: no allocation;
// otherwise it costs two (the context and the shallow request copy).
func withCallRecord(req *http.Request, hop bool) (rec *callRecord, r *http.Request, created bool) {
	ctx := req.Context()
	if r := callRecordFrom(ctx); r != nil && sameURL(r.url, req.URL) {
		return r, req, false
	}
	if cs := callScopeFrom(ctx); cs != nil && cs.owned(req) && cs.rec.url == nil {
		cs.rec.init(ctx, req, hop)
		return &cs.rec, req, true
	}
	c := &callRecordCtx{Context: ctx}
	c.rec.init(ctx, req, hop)
	return &c.rec, req.WithContext(c), true
}

func sameURL(a, b *url.URL) bool {
	return a == b || (a != nil && b != nil && *a == *b)
}

// WithRoute returns a copy of ctx naming the route of the calls made with
// it: a low-cardinality template such as "/users/{id}/orders/{order}",
// never a filled-in path. The inventory, the audit log and telemetry
// report the route instead of the path, which keeps identifiers out of
// metric attributes and bounds their cardinality. Template.NewRequest sets
// it for you. It names the first request of a call only: a redirect hop
// (which http.Client sends with the same context) is recorded under its
// own normalised path (a new call built from a redirected call's
// response, resp.Request.Clone, is no hop, though it keeps Response), and
// a token fetch made for the call (the context a
// token source gets) does not inherit it. The inventory and the audit log
// keep at most 256 bytes of a route: a longer one is cut after its last
// "/" that leaves room and marked "/{...}", never an error, since it only
// names the call.
func WithRoute(ctx context.Context, route string) context.Context {
	return context.WithValue(ctx, routeKey{}, route)
}

// RouteFrom returns the route of the call ctx belongs to: the one a layer
// set with SetRoute or the caller with WithRoute; "" when there is none.
func RouteFrom(ctx context.Context) string {
	if r := callRecordFrom(ctx); r != nil {
		return r.route
	}
	s, _ := ctx.Value(routeKey{}).(string)
	return s
}

// SetRoute sets the route of the call ctx belongs to and reports whether
// the call has a record to set it in. It is for per-call layers that find
// the route themselves (OpenAPI validation); call it before handing the
// request on, on the call's goroutine.
func SetRoute(ctx context.Context, route string) bool {
	r := callRecordFrom(ctx)
	if r == nil {
		return false
	}
	r.route = route
	return true
}

// MarkAuth records that the call ctx belongs to used the authentication
// kind k. Credential layers call it when they attach a credential: the
// auth layer AuthBearer, the API-key layer AuthAPIKey, the signing layer
// AuthHMAC, the base transport AuthMTLS when a client certificate is configured
// and the response came over TLS (whether or not the server asked for it).
// It is safe for concurrent use, allocates nothing, and does nothing when
// the call has no record.
func MarkAuth(ctx context.Context, k AuthKind) {
	if r := callRecordFrom(ctx); r != nil {
		r.mark(uint32(k & authAll))
	}
}

// MarkPinned records that a certificate pin set was enforced on the
// connection of the call ctx belongs to (the base transport calls it when
// a set that is neither report-only nor expired applies to the server name
// the handshake verified; not for an http:// call through an https://
// proxy, whose TLS connection is the proxy's). Like MarkAuth it is cheap and a no-op without a
// record.
func MarkPinned(ctx context.Context) {
	if r := callRecordFrom(ctx); r != nil {
		r.mark(flagPinned)
	}
}

// mark sets bits in r.flags, writing only when a bit is new so concurrent
// marks of the same kind do not contend.
func (r *callRecord) mark(bits uint32) {
	if r.flags.Load()&bits != bits {
		r.flags.Or(bits)
	}
}

func (r *callRecord) auth() AuthKind { return AuthKind(r.flags.Load()) & authAll }
func (r *callRecord) pinned() bool   { return r.flags.Load()&flagPinned != 0 }

// CallInfo is a snapshot of the per-call record.
type CallInfo struct {
	// Route is the call's route (see WithRoute, SetRoute); "" if unknown.
	Route string
	// Auth is the set of authentication kinds marked so far.
	Auth AuthKind
	// Pinned reports whether a pinned connection was marked.
	Pinned bool
}

// CallInfoFrom returns a snapshot of the record of the call ctx belongs to,
// and false when ctx carries no record (no inventory, audit or OpenAPI
// layer above) or only that of a call which is over (a context derived
// from its response's request context).
func CallInfoFrom(ctx context.Context) (CallInfo, bool) {
	r := callRecordFrom(ctx)
	if r == nil {
		return CallInfo{}, false
	}
	return CallInfo{Route: r.route, Auth: r.auth(), Pinned: r.pinned()}, true
}

// serverTLS returns resp.TLS, the TLS state of a response to a request for
// u, when it is the server's own connection: nil for an http:// request,
// whose response net/http gives the state of the TLS connection to an
// https:// proxy (BaseConfig.Proxy), from which the request went on to the
// server in clear. Such a call is plain http for the inventory and the
// audit log: no TLS version, not pinned, and no client certificate (which
// only the proxy was offered). The scheme is that of the request sent:
// resp.Request's, when there is one (the base transport's, or the request
// a retry layer's attempt was made from, which showRequest shows), not
// u's: a layer between (a client's WithCallLayer layer) may send u with
// another scheme, an http:// URL over https:// (an HSTS upgrade, which the
// base marks pinned and mtls) or the reverse.
func serverTLS(u *url.URL, resp *http.Response) *tls.ConnectionState {
	if resp == nil || resp.TLS == nil {
		return nil
	}
	if r := resp.Request; r != nil && r.URL != nil {
		u = r.URL
	}
	if u == nil || u.Scheme != "https" {
		return nil
	}
	return resp.TLS
}
