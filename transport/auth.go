package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/securecall/securecall/internal/configerr"
	"github.com/securecall/securecall/internal/redact"
	"github.com/securecall/securecall/internal/reqbody"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
)

// maxAuthDrain bounds how much of a discarded 401 body the credential
// layers read before closing it, so the connection can be reused without
// reading an unbounded body; drainClose bounds the read by DrainTimeout
// too.
const maxAuthDrain = 64 << 10

// AuthConfig configures the auth layer (NewAuth).
type AuthConfig struct {
	// Source supplies the token for each attempt. Required. Use a
	// *tokens.Cache (over tokens.ClientCredentials, tokens.Refresher, ...):
	// the layer asks for a token on every attempt, and only a cache makes
	// that cheap. When Source implements tokens.Invalidator (a Cache does),
	// a 401 drops the rejected token and the request is replayed once with
	// a new one; a 401 that is not about the token keeps it (see NewAuth).
	Source tokens.Source

	// Scope decides, on every RoundTrip, whether the request's URL may
	// receive the token, and its Host when that names another authority
	// (asked as a URL with the request's scheme: a front end routes the
	// request by Host). A request outside it (a redirect hop to another
	// origin, a Host naming another virtual host) is passed on untouched. Required; an empty Origins is
	// refused, as is an *EgressPolicy without an allowlist (it allows every
	// host). The token goes only over https, unless Scope is an Origins
	// that lists an http origin explicitly (loopback tests). An Origins is
	// copied at NewAuth: changing the caller's slice afterwards does not
	// change the scope.
	Scope Scope

	// Header is the request header that carries the token, as
	// tokens.Token.HeaderValue ("Bearer <token>"). Default "Authorization".
	// The token replaces every line the request has in this header, under
	// any spelling of its name (req.Header["authorization"] too, which
	// net/http would send as well), so exactly one goes out.
	Header string
}

// NewAuth returns the auth layer. For each request whose URL cfg.Scope
// allows (over https), it gets a token from cfg.Source, sets it on the
// attempt's own request (Own: the per-attempt clone inside a stack, a clone
// of its own when used standalone, never the caller's request) and passes
// the request on. It belongs inside the retry loop, so every attempt gets
// the current token. A source that panics (a bug in it; a tokens.Cache
// turns a panic of its source into an error) has the request's body
// closed, and its panic goes on.
//
// On a 401 answer (a plain 401, or WWW-Authenticate: Bearer
// error="invalid_token": any 401 with no challenge, or with one of the
// token's scheme), when cfg.Source is a tokens.Invalidator, the layer
// invalidates exactly the token it sent and, if the request can be sent
// again (no body, or a GetBody that returns a fresh copy, not the
// request's own Body), replays it once with a new token, after
// draining (bounded) and closing the 401's body. A throttle right above
// (NewThrottle) admits the replay, a second request to the host, as it
// admits a request: a token and a quota share, or its error, the replay
// then not sent. It never loops: the
// answer to the replay is returned whatever it is. It does not replay when
// the challenge says error="insufficient_scope" or "invalid_request" (a new
// token would not help), when the source hands back the same token (a
// tokens.Cache then keeps serving it but backs off, reporting
// tokens.ErrTokenRejected: until the backoff step is over, a 401 to it
// asks the source nothing), when the cache keeps a token that replaced a
// rejected one and is rejected in turn (a server rejecting every token:
// for a backoff step, see tokens.Cache), or when the body cannot be
// replayed; the 401 is then returned as is.
//
// A 401 whose WWW-Authenticate challenges include none of the token's
// scheme (RFC 6750 §3: a server refusing a bearer token says Bearer) is
// not about the token, such as the "Signature" of a signer.Verifier's
// Middleware refusing a stale or replayed signature: the token is kept (no invalidation, no
// token request). When that 401 carries Accept-Signature (RFC 9421 §5.1,
// the server asks for a signature) and the refused request was signed,
// the request is replayed once with the same token, which the sign layer
// below signs afresh; otherwise (no sign layer below: the replay would go
// out unsigned again) the 401 is returned as is. With a Header other than Authorization, whose challenges
// name no scheme of the token's, only a 401 whose challenges are all
// "Signature" is taken as not about it.
//
// When no token can be had, the request is not sent: RoundTrip closes its
// body and returns an *AuthError wrapping the source's error (after a 401,
// the 401 is discarded). An AuthError whose cause is invalid_grant,
// invalid_client, an unsupported token type, a malformed access token or
// a malformed token response (an out-of-range expires_in, a member of the
// wrong kind, no access_token) is not Temporary: retrying cannot help.
func NewAuth(next http.RoundTripper, cfg AuthConfig) (http.RoundTripper, error) {
	if err := checkNext(next); err != nil {
		return nil, err
	}
	if cfg.Source == nil {
		return nil, configErrorf("AuthConfig.Source", nil, "a tokens.Source is required")
	}
	header := cfg.Header
	if header == "" {
		header = "Authorization"
	}
	if !httpguts.ValidHeaderFieldName(header) {
		return nil, configErrorf("AuthConfig.Header", nil, "invalid header name %s", redact.FieldName(header))
	}
	l, err := newCredLayer(next, "auth", "AuthConfig.Scope", cfg.Source, cfg.Scope)
	if err != nil {
		return nil, err
	}
	l.header = textproto.CanonicalMIMEHeaderKey(header)
	return l, nil
}

// AuthError reports that a credential layer could not get a credential
// for a request, so the request was not sent (or, after a 401, not
// replayed). Err is the source's error: a *tokens.RefreshError, a
// *tokens.TokenError, a *tokens.StoreError...
type AuthError struct {
	Layer string // "auth" or "apikey"
	Err   error

	// afterSend: the request was sent and answered 401; the credential
	// for its replay could not be had.
	afterSend bool
}

func (e *AuthError) Error() string {
	return "transport: " + e.Layer + ": no credential: " + e.Err.Error()
}

func (e *AuthError) Unwrap() error { return e.Err }

// ErrorType returns the telemetry error.type of the failure (see the
// package function ErrorType): "credential_unavailable", whatever the
// source's failure was, so that the token endpoint's network failure
// ("connection_refused", "timeout"...) is not reported under the server
// address of the API host, which was never contacted. A cancellation by
// the caller while the credential was fetched stays "canceled" (it returns
// "" then, leaving the classification to ErrorType).
func (e *AuthError) ErrorType() string {
	if errors.Is(e.Err, context.Canceled) {
		return ""
	}
	return ErrorTypeCredentialUnavailable
}

// RewriteErrors returns a copy of e whose Err is rewrite(e.Err), so that
// error redaction (the URL of a token endpoint's *url.Error) keeps the
// *AuthError reachable with errors.As.
func (e *AuthError) RewriteErrors(rewrite func(error) error) error {
	c := *e
	c.Err = rewrite(e.Err)
	return &c
}

// Temporary reports whether trying again later may succeed. It is false
// when the token endpoint refused the request for a reason that needs an
// operator, not a retry (RFC 6749 §5.2): the grant (invalid_grant: revoked
// or reused refresh token), the client (invalid_client,
// unauthorized_client), the grant type (unsupported_grant_type), the
// scope (invalid_scope) or the request itself (invalid_request), or
// issued a token of a type the client cannot use (ErrUnsupportedTokenType),
// an access token a bearer header cannot carry (ErrMalformedToken) or a
// malformed token response (ErrMalformedResponse: an expires_in out of
// range, a JSON member of the wrong kind, no access_token; under
// tokens.FromOAuth2 too): the endpoint issues those to this client every
// time, and retrying only spends the retry budget on token requests. A
// success answer that is not a token response at all (ErrMalformedResponse
// over x/oauth2's parse error: an HTML page a proxy answered 200 with, a
// JSON string) is Temporary, as are a 5xx and a network failure. A
// closed tokens.Cache (tokens.ErrClosed: its client was closed) answers
// every attempt the same and is not Temporary either, nor is a
// *tokens.ConfigError (a zero tokens.Cache, a tokens.FromStore secret
// under the key a Cache persists its token to), which holds until the
// configuration is changed.
func (e *AuthError) Temporary() bool {
	if errors.Is(e.Err, tokens.ErrClosed) {
		return false
	}
	if _, ok := errors.AsType[*tokens.ConfigError](e.Err); ok {
		return false
	}
	if te, ok := errors.AsType[*tokens.TokenError](e.Err); ok {
		switch te.Code {
		case "invalid_grant", "invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_scope", "invalid_request":
			return false
		}
	}
	if errors.Is(e.Err, tokens.ErrMalformedToken) {
		return false
	}
	if errors.Is(e.Err, tokens.ErrMalformedResponse) {
		t, ok := errors.AsType[interface {
			error
			Temporary() bool
		}](e.Err)
		return ok && t.Temporary()
	}
	return !errors.Is(e.Err, tokens.ErrInvalidGrant) && !errors.Is(e.Err, tokens.ErrInvalidClient) &&
		!errors.Is(e.Err, tokens.ErrUnsupportedTokenType)
}

// credLayer puts a credential from a tokens.Source on requests in scope:
// in a header (auth, API key) or a query parameter (API key), with 401
// recovery through tokens.Invalidator.
type credLayer struct {
	next   http.RoundTripper
	name   string // "auth" or "apikey", for errors
	src    tokens.Source
	inv    tokens.Invalidator // nil: no 401 recovery
	scope  Scope
	http   bool   // scope is an Origins: it lists http origins explicitly
	header string // canonical header name, or ""
	query  string // query parameter name, or ""
	// sign is next when it is a sign layer with the same origin list as
	// scope (signsFor) and the credential goes in a header: a request
	// this layer found in scope is, once its header is set, one the sign
	// layer's check would find in scope too (same URL and Host, an
	// Origins' answer depends on nothing else), so it is handed to
	// sign.send without that check. Only the first send of a RoundTrip
	// takes this way; a replay after a 401 goes through next.RoundTrip.
	sign *signLayer
	// throttle is the throttle layer right above (linkReplays), which
	// admits a replay after a 401, a second request to the host, as it
	// admits a send; nil: none (or noReplayThrottle: more than one).
	throttle atomic.Pointer[throttleLayer]
}

func newCredLayer(next http.RoundTripper, name, scopeField string, src tokens.Source, scope Scope) (*credLayer, error) {
	srcField := strings.TrimSuffix(scopeField, "Scope") + "Source"
	if err := configerr.Unconstructed(srcField, src); err != nil {
		return nil, err
	}
	if err := typedNil(srcField, src); err != nil {
		return nil, err
	}
	scope, err := ownScope(scopeField, scope, "credentials", "no request would get a credential")
	if err != nil {
		return nil, err
	}
	_, isOrigins := scope.(Origins)
	inv, _ := src.(tokens.Invalidator)
	return &credLayer{next: orDefault(next), name: name, src: src, inv: inv, scope: scope, http: isOrigins, sign: signsFor(next, scope)}, nil
}

// signsFor returns next as a *signLayer when it is one whose scope is the
// same origin list as scope (equal, each layer holding its own copy), so
// that whatever scope allows it allows; nil otherwise (another layer, or
// a Scope other than an Origins, whose Allows may answer differently from
// one call to the next).
func signsFor(next http.RoundTripper, scope Scope) *signLayer {
	s, ok := next.(*signLayer)
	if !ok {
		return nil
	}
	mine, ok1 := scope.(Origins)
	its, ok2 := s.scope.(Origins)
	if !ok1 || !ok2 || !slices.Equal(mine, its) {
		return nil
	}
	return s
}

// ownScope checks scope, the field option of a layer that sends what
// (credentials, signatures) only to the destinations it allows, and
// returns the layer's own copy of it: an Origins is the caller's slice,
// which, rewritten in place afterwards, would move where they go. none
// says what an empty Origins would mean.
func ownScope(field string, scope Scope, what, none string) (Scope, error) {
	if err := configerr.Unconstructed(field, scope); err != nil {
		return nil, err
	}
	if scope == nil {
		return nil, configErrorf(field, nil, "a Scope is required: %s go only to the origins it allows", what)
	}
	origins, isOrigins := scope.(Origins)
	if isOrigins && len(origins) == 0 {
		return nil, configErrorf(field, nil, "empty origin list: %s", none)
	}
	if reason := openScope(scope); reason != "" {
		return nil, configErrorf(field, nil, "%s", reason)
	}
	if isOrigins {
		return slices.Clone(origins), nil
	}
	return scope, nil
}

// inScope reports whether req may receive the credential: its URL and its
// Host allowed by the scope (scopeAllows), and https unless the scope is an
// explicit origin list (which allows an http origin only when it names it).
func (l *credLayer) inScope(req *http.Request) bool {
	if u := req.URL; u == nil || (u.Scheme != "https" && !l.http) {
		return false
	}
	return scopeAllows(l.scope, req)
}

func (l *credLayer) RoundTrip(req *http.Request) (*http.Response, error) {
	if !l.inScope(req) {
		return l.next.RoundTrip(req)
	}
	ctx := req.Context()
	a := ownAttempt(req)
	tok, err := l.token(ctx, a, req)
	if err != nil {
		closeBody(req)
		return nil, &AuthError{Layer: l.name, Err: err}
	}
	r := Own(req)
	l.apply(r, tok)
	var resp *http.Response
	if l.sign != nil && l.header != "" {
		// r is req, or its copy, with the header set: the destination
		// found in scope above (see credLayer.sign).
		resp, err = l.sign.send(r)
	} else {
		resp, err = l.next.RoundTrip(r)
	}
	if resp == nil && err == nil {
		err = errNoNextResponse // a broken next: an error, as net/http's Client makes it
	}
	if err != nil || resp.StatusCode != http.StatusUnauthorized || l.inv == nil {
		return resp, err
	}
	switch challengeVerdict(resp.Header, l.scheme(tok)) {
	case challengeDenied:
		return resp, nil
	case challengeNotOurs:
		if len(resp.Header["Accept-Signature"]) == 0 || !sentSigned(resp, r) {
			// Neither a new token nor the same request again would do:
			// without a signature on the refused request (no sign layer
			// below) the replay would go out as unsigned as it did.
			return resp, nil
		}
		// The server asks for a signature: the sign layer signs the
		// replay afresh, under the token the server did not refuse.
		body, ok := replayBody(r)
		if !ok {
			return resp, nil
		}
		return l.replay(ctx, r, body, tok, resp)
	}
	return l.recover(ctx, r, tok, resp)
}

// sentSigned reports whether the request resp answers, as it was sent
// (resp.Request; r when the transport below set none), carried an HTTP
// message signature, which a sign layer below makes afresh on a replay.
func sentSigned(resp *http.Response, r *http.Request) bool {
	if resp.Request != nil {
		r = resp.Request
	}
	return len(r.Header["Signature-Input"]) > 0
}

// scheme returns the auth-scheme a 401's challenge names when it is about
// tok (RFC 9110 §11.6.1, RFC 6750 §3): its type ("Bearer") when the auth
// layer sends it in Authorization, and "" for an API key or another
// header, whose challenges name no scheme known to be its own.
func (l *credLayer) scheme(tok tokens.Token) string {
	if l.name != "auth" || l.header != "Authorization" {
		return ""
	}
	return tok.Type()
}

// cachedSource is a token source that can answer from its cache without
// waiting (tokens.Cache).
type cachedSource interface {
	CachedToken(ctx context.Context) (tokens.Token, bool)
}

// cachedAtSource is a cachedSource that takes the clock reading
// (tokens.Cache): under the attempt's shared clock, the cached token costs
// no clock read.
type cachedAtSource interface {
	CachedTokenAt(ctx context.Context, t time.Time) (tokens.Token, bool)
}

// token gets the token for a send. One that may have waited (a fetch, a
// source without a cache) makes the attempt's clock reading stale, so the
// layers after it (the signature's created) read the clock again.
// The source gets the context without the attempt (detached): its own
// requests are not the attempt's. a is the attempt that owns the request
// (nil: none).
func (l *credLayer) token(ctx context.Context, a *Attempt, req *http.Request) (tokens.Token, error) {
	tctx := detached(ctx, a)
	if c, ok := l.src.(cachedAtSource); ok && a != nil && a.shareClock {
		// The attempt's shared reading (taken microseconds ago by the
		// retry layer): the cache reads no clock of its own.
		if tok, ok := c.CachedTokenAt(tctx, a.clock()); ok {
			return tok, nil
		}
	} else if c, ok := l.src.(cachedSource); ok {
		if tok, ok := c.CachedToken(tctx); ok {
			return tok, nil
		}
	}
	tok, err := l.sourceToken(tctx, req)
	a.clockMoved()
	if err != nil {
		// A source of the caller's own (no Cache, no SourceFunc) may
		// quote the token endpoint's answer, secrets echoed in it.
		err = tokens.RedactSourceError(err)
	}
	return tok, err
}

// sourceToken asks the source for req's token, req not handed on yet: a
// panic of the source (a bug in a Source of the caller's; a tokens.Cache
// turns one into an error) goes on unchanged, but req's body is closed
// first, as RoundTrip must on every path. Only here: a valid cached token
// (token's fast path) is had without the deferred call.
func (l *credLayer) sourceToken(ctx context.Context, req *http.Request) (tokens.Token, error) {
	returned := false
	defer func() {
		if !returned {
			closeBody(req)
		}
	}()
	tok, err := l.src.Token(ctx)
	returned = true
	return tok, err
}

// detached returns ctx without its attempt, its call's state and the
// caller's route: through a, the attempt that owns the request (no
// allocation), or a new wrapper when ctx carries an attempt the layer does
// not own, or no attempt but a call's state or a route; ctx itself when it
// carries none of them.
func detached(ctx context.Context, a *Attempt) context.Context {
	if a != nil {
		return a.detach(ctx)
	}
	if _, ok := AttemptFrom(ctx); ok || hasCallState(ctx) {
		// Without an attempt (an auth or sign layer used on its own, as
		// docs/tokens.md's first example does), the caller's route and
		// an outer call's state must be hidden all the same.
		return &attemptDetached{ctx}
	}
	return ctx
}

// hasCallState reports whether ctx carries what attemptDetached hides
// besides the attempt: a call's state (scope, record, call trace) or a
// WithRoute route.
func hasCallState(ctx context.Context) bool {
	return ctx.Value(routeKey{}) != nil || ctx.Value(callRecordKey{}) != nil ||
		ctx.Value(callScopeKey{}) != nil || ctx.Value(callKey{}) != nil
}

// recover handles a 401 to r, which carried tok: it invalidates tok and
// replays r once with a new token when it can. ctx is the context r had on
// entry to the layer (the inner layers may have replaced r's in place).
func (l *credLayer) recover(ctx context.Context, r *http.Request, tok tokens.Token, resp *http.Response) (*http.Response, error) {
	l.inv.Invalidate(tok)
	body, ok := replayBody(r)
	if !ok {
		return resp, nil // not replayable; the next request gets a new token
	}
	fresh, err := l.src.Token(detached(ctx, ownAttempt(r)))
	if err != nil {
		err = tokens.RedactSourceError(err)
	}
	if errors.Is(err, tokens.ErrTokenRejected) {
		// The source has only the rejected token (a Cache, backing off
		// now): the server's 401 is the answer.
		err = nil
		fresh = tok
	}
	if err != nil || fresh.Equal(tok) {
		if body != nil && body != r.Body {
			body.Close()
		}
		if err != nil {
			drainClose(resp, maxAuthDrain)
			return nil, &AuthError{Layer: l.name, Err: err, afterSend: true}
		}
		return resp, nil // the source has nothing newer: a replay would fail the same way
	}
	return l.replay(ctx, r, body, fresh, resp)
}

// replayBody returns the body for a replay of r: r.Body when it has none,
// a new one from GetBody otherwise; false when it cannot be had.
func replayBody(r *http.Request) (io.ReadCloser, bool) {
	body := r.Body
	if body == nil || body == http.NoBody {
		return body, true
	}
	if r.GetBody == nil {
		return nil, false
	}
	b, err := freshBody(r)
	if err != nil {
		return nil, false
	}
	return b, true
}

// The package's request-body wrappers, which reqbody.Same looks through.
var _, _ reqbody.Wrapper = (*callerBody)(nil), (*trailerSyncBody)(nil)

// freshBody returns a new copy of r's body from r.GetBody (not nil),
// refusing a nil one and r's own Body handed back (or the body a layer's
// wrapper of it reads, see reqbody.Wrapper): sent again, it would go out
// empty or cut short, since the attempt before read it. It wraps
// signer.ErrBodyNotReplayable then, and does not close what it refuses.
func freshBody(r *http.Request) (io.ReadCloser, error) {
	b, notFresh, err := reqbody.Fresh(r)
	switch {
	case err != nil:
		return nil, err
	case notFresh != "":
		return nil, fmt.Errorf("%w: %s: the send before read it, and may still be reading it, so sent again it would go out empty, cut short or mixed (GetBody must return a new reader of the same bytes on every call)", signer.ErrBodyNotReplayable, notFresh)
	}
	return b, nil
}

// replay discards resp, the 401 to r, and sends r once more with body
// (from replayBody) and tok, returning that answer whatever it is.
func (l *credLayer) replay(ctx context.Context, r *http.Request, body io.ReadCloser, tok tokens.Token, resp *http.Response) (*http.Response, error) {
	drainClose(resp, maxAuthDrain)
	// A new request for the replay: next (or the server) may still hold r.
	// fork gives r2 its own header map and URL and makes it the attempt's
	// owned request, so the inner layers modify it in place.
	r2 := fork(r, ctx)
	r2.Body = body
	if body != r.Body {
		syncTrailer(r2, trailerSource(r)) // the replay's body fills the caller's trailer
	}
	a := ownAttempt(r2)
	if a != nil {
		a.replayed = true // the host saw the attempt (retry budget)
	}
	if th := l.throttle.Load(); th != nil && th != noReplayThrottle {
		// A second request to the host: the throttle above takes its
		// token and quota, as for any send.
		if err := th.admitReplay(a, r2); err != nil {
			return nil, err
		}
	}
	l.apply(r2, tok)
	return l.next.RoundTrip(r2)
}

// apply puts tok on r, which the layer owns.
func (l *credLayer) apply(r *http.Request, tok tokens.Token) {
	if l.name == "apikey" {
		MarkAuth(r.Context(), AuthAPIKey)
	} else {
		MarkAuth(r.Context(), AuthBearer)
	}
	if l.header != "" {
		replaceHeader(r, l.header, tok.HeaderValue())
		return
	}
	r.URL.RawQuery = setQueryParam(r.URL.RawQuery, l.query, tok.HeaderValue())
}

// setQueryParam returns the raw query raw with key set to value: every
// parameter a common server reads as key is removed (readsAsQueryKey: any
// case, "api.key" for api_key, "[api_key]", "api_key[]", pairs split at
// ";" as well as "&"), with one of the separators beside it ("&" if
// either is), and key=value
// appended after "&". Every other parameter is kept as it was written, in
// its order and escaping (a pre-signed URL's signature may cover the exact
// query). key is made of unreserved characters (NewAPIKey checks), so its
// escaped form is itself.
func setQueryParam(raw, key, value string) string {
	keys := []string{queryKeyForm(key)}
	var b strings.Builder
	b.Grow(len(raw) + len(key) + 2 + len(value)*3)
	kept := false
	var sep byte // the separator before the next pair
	for more := raw != ""; more; {
		pair := raw
		next := byte(0)
		if i := strings.IndexAny(raw, "&;"); i >= 0 {
			pair, next, raw = raw[:i], raw[i], raw[i+1:]
		} else {
			more = false
		}
		if name, _, _ := strings.Cut(pair, "="); name == "" || !readsAsQueryKey(name, keys) {
			if kept {
				b.WriteByte(sep)
			}
			b.WriteString(pair)
			kept = true
			sep = next
		} else if sep != '&' {
			// The pair goes with one separator: "&" when either beside
			// it is one, so that "a=1&api_key=x;b=2" does not become
			// "a=1;b=2", which a server splitting at "&" only reads as a
			// with the value "1;b=2".
			sep = next
		}
	}
	if kept {
		b.WriteByte('&')
	}
	b.WriteString(key)
	b.WriteByte('=')
	b.WriteString(url.QueryEscape(value))
	return b.String()
}

// challenge is what a 401's WWW-Authenticate says about the credential a
// layer sent (challengeVerdict).
type challenge uint8

const (
	// challengeRefresh: the credential was refused, or the 401 does not
	// say (no challenge at all, as many servers send): drop it and replay
	// with a new one.
	challengeRefresh challenge = iota
	// challengeDenied: the credential's challenge says error=
	// "insufficient_scope" or "invalid_request" (RFC 6750 §3.1), which
	// a new one from the same source does not fix.
	challengeDenied
	// challengeNotOurs: the 401 is about something else (a signature, a
	// scheme the layer does not send): the credential is kept.
	challengeNotOurs
)

// challengeVerdict reads the WWW-Authenticate challenges of a 401 (RFC
// 9110 §11.6.1) to a request that carried a credential of auth-scheme
// scheme ("Bearer"; "" for a bare key or a header of another name):
//
//   - no challenge: challengeRefresh (today's servers often send none);
//   - scheme set, a challenge of it: challengeDenied when one of its
//     error params is "insufficient_scope" or "invalid_request", else
//     challengeRefresh (error="invalid_token", no error, or an extension
//     code a new token may fix: RFC 6750 §3 lets a server add codes);
//   - scheme set, challenges none of which is of it: challengeNotOurs (a
//     server refusing a bearer token says Bearer, RFC 6750 §3);
//   - scheme "": challengeDenied for an error param above in any
//     challenge, challengeNotOurs when every challenge is the signature
//     verifier's (signer.ChallengeScheme), else challengeRefresh.
//
// It runs on 401s only; it allocates for a quoted error value only.
func challengeVerdict(h http.Header, scheme string) challenge {
	vals := h["Www-Authenticate"]
	var any, ours, denied bool
	onlySig := true
	for _, v := range vals {
		scanChallenges(v, func(s, name, value string) {
			if name == "" {
				any = true
				ours = ours || scheme != "" && strings.EqualFold(s, scheme)
				onlySig = onlySig && strings.EqualFold(s, signer.ChallengeScheme)
				return
			}
			if (scheme == "" || strings.EqualFold(s, scheme)) && strings.EqualFold(name, "error") &&
				(value == "insufficient_scope" || value == "invalid_request") {
				denied = true
			}
		})
	}
	switch {
	case !any:
		return challengeRefresh
	case denied:
		return challengeDenied
	case scheme != "" && !ours, scheme == "" && onlySig:
		return challengeNotOurs
	}
	return challengeRefresh
}

// challengeErrors returns the values of the "error" auth-params in one
// WWW-Authenticate field value, whatever their challenge's scheme.
func challengeErrors(v string) []string {
	var out []string
	scanChallenges(v, func(_, name, value string) {
		if name != "" && strings.EqualFold(name, "error") {
			out = append(out, value)
		}
	})
	return out
}

// scanChallenges calls fn for each challenge in v, one WWW-Authenticate
// field value (RFC 9110 §11.6.1: challenges separated by commas, each an
// auth-scheme followed by a token68 or by comma-separated auth-params
// whose values are tokens or quoted strings): fn(scheme, "", "") as it
// starts, then fn(scheme, name, value) for each of its auth-params. A
// token that no "=" follows starts a challenge, unless it comes right
// after the scheme (a token68); quoted strings are skipped whole, so a
// comma or a scheme inside one is not read. Malformed input is skipped
// over, a character at a time; params before any scheme get scheme "".
func scanChallenges(v string, fn func(scheme, name, value string)) {
	s := v
	scheme := ""
	afterScheme := false // a bare token now is the scheme's token68
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return
		}
		switch s[0] {
		case ',':
			afterScheme = false
			s = s[1:]
			continue
		case '"':
			_, s = quotedString(s)
			afterScheme = false
			continue
		case '=':
			s = s[1:]
			continue
		}
		name := s[:tokenEnd(s)]
		s = strings.TrimLeft(s[len(name):], " \t")
		if !strings.HasPrefix(s, "=") {
			if afterScheme { // token68
				afterScheme = false
				continue
			}
			scheme = name
			afterScheme = true
			fn(scheme, "", "")
			continue
		}
		afterScheme = false
		s = strings.TrimLeft(s[1:], " \t")
		var val string
		if strings.HasPrefix(s, `"`) {
			val, s = quotedString(s)
		} else {
			val = s[:tokenEnd(s)]
			s = s[len(val):]
		}
		fn(scheme, name, val)
	}
}

// tokenEnd returns the length of the token at the start of s.
func tokenEnd(s string) int {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', ',', '=', '"':
			return i
		}
	}
	return len(s)
}

// quotedString parses the quoted-string at the start of s (which begins
// with '"') and returns its unescaped value and the rest of s.
func quotedString(s string) (string, string) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:]
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), "" // unterminated: take the rest
}
