package transport

import (
	"net/http"
	"net/textproto"
	"strconv"

	"golang.org/x/net/http/httpguts"

	"github.com/securecall/securecall/internal/redact"
	"github.com/securecall/securecall/tokens"
)

// DefaultAPIKeyHeader is the header that carries an API key when
// APIKeyConfig names neither a header nor a query parameter.
const DefaultAPIKeyHeader = "X-Api-Key"

// APIKeyConfig configures the API-key layer (NewAPIKey).
type APIKeyConfig struct {
	// Source supplies the key as a token: its HeaderValue is sent, which
	// is the bare key for a token of type "" (tokens.Static(tokens.NewToken
	// (key, "", time.Time{})), or a *tokens.Cache over
	// tokens.StoreSource(store, name, "") to read it from a secret store
	// once). Required. When Source implements tokens.Invalidator, a 401
	// drops the key and replays the request once if the source then has a
	// different (rotated) key; one whose WWW-Authenticate challenges are
	// all "Signature" (a signer.Verifier's Middleware refusing the
	// signature) keeps it, and replays once with it when the 401 carries
	// Accept-Signature and the refused request was signed.
	Source tokens.Source

	// Scope decides, on every RoundTrip, whether the request's URL (and
	// its Host, when that names another authority, as for
	// AuthConfig.Scope) may receive the key. Required; an empty Origins is refused, as is an
	// *EgressPolicy without an allowlist (it allows every host). The key goes
	// only over https, unless Scope is an Origins that lists an http origin
	// explicitly. An Origins is copied at NewAPIKey: changing the caller's
	// slice afterwards does not change the scope.
	Scope Scope

	// Header is the header that carries the key. Default
	// DefaultAPIKeyHeader. A header net/http does not send from
	// Request.Header (Host, Content-Length, Transfer-Encoding, Trailer)
	// or a hop-by-hop one (Connection, Keep-Alive, Proxy-Connection, TE,
	// Upgrade, Proxy-Authorization, Proxy-Authenticate) is a *ConfigError:
	// the key would never reach the origin; so is one another layer sets
	// or reads (Traceparent, Tracestate, Baggage: a propagator replaces
	// them; Idempotency-Key, X-Idempotency-Key: net/http and a server would
	// take every POST for safe to send again); and so is one net/http or
	// the server reads for a meaning the key would break (Content-Type,
	// Content-Encoding, Expect, Accept-Encoding: net/http's transparent
	// gzip off; Range, If-Match, If-None-Match, If-Modified-Since,
	// If-Unmodified-Since, If-Range; Accept, Accept-Charset,
	// Accept-Language: content negotiation; Cache-Control, Pragma: cache
	// directives; Content-Language, Content-Location, Content-Range).
	// Cookie is accepted: the key then
	// replaces the request's cookies. The key replaces any value
	// the request already has in this header, under any spelling of its
	// name (req.Header["x-api-key"] too, which net/http would send as
	// well). Register it as a sensitive
	// header with the redirect policy so that no foreign redirect hop
	// gets it.
	Header string

	// QueryParam, when set instead of Header, sends the key as this query
	// parameter. Discouraged: URLs end up in access logs, proxies and
	// browser histories. Telemetry must be told to redact the parameter
	// (the client does this for you). Header and QueryParam are exclusive.
	// On a request in scope, every parameter of the URL that a common
	// server reads as this name is replaced: removed, and the key appended
	// once after "&". That is a name equal to it however percent-encoded,
	// in any case (ASP.NET), with "." or " " for "_" (PHP: "api.key" is
	// api_key, and a QueryParam "api.key" replaces "api_key"), in brackets
	// or with an array suffix ("[api_key]", "api_key[]": Rack, PHP), in a
	// pair split at ";" as well as "&" (a removed pair goes with one of
	// the separators beside it, "&" kept if either is one, so its
	// neighbours stay apart for a server that splits at "&" only). The
	// other parameters keep their order and escaping,
	// and the caller's URL is not modified. A request out of scope is sent
	// with its URL as it is.
	QueryParam string
}

// NewAPIKey returns the API-key layer: for each request whose URL cfg.Scope
// allows (over https), it sets the key from cfg.Source on the attempt's own
// request (Own; never the caller's request) as a header or, if configured,
// a query parameter, and passes it on. A 401 is handled as by NewAuth when
// the source is a tokens.Invalidator. When the source fails, the request is
// not sent: its body is closed and an *AuthError is returned; when it
// panics, its body is closed and the panic goes on.
func NewAPIKey(next http.RoundTripper, cfg APIKeyConfig) (http.RoundTripper, error) {
	if err := checkNext(next); err != nil {
		return nil, err
	}
	if cfg.Source == nil {
		return nil, configErrorf("APIKeyConfig.Source", nil, "a tokens.Source is required")
	}
	if cfg.Header != "" && cfg.QueryParam != "" {
		return nil, configErrorf("APIKeyConfig.QueryParam", nil, "set Header or QueryParam, not both")
	}
	if cfg.QueryParam != "" && !validQueryName(cfg.QueryParam) {
		return nil, configErrorf("APIKeyConfig.QueryParam", nil, "invalid parameter name %s", shownQueryName(cfg.QueryParam))
	}
	header := cfg.Header
	if header == "" && cfg.QueryParam == "" {
		header = DefaultAPIKeyHeader
	}
	if header != "" && !httpguts.ValidHeaderFieldName(header) {
		return nil, configErrorf("APIKeyConfig.Header", nil, "invalid header name %s", redact.FieldName(header))
	}
	if header != "" && unsentHeader(textproto.CanonicalMIMEHeaderKey(header)) {
		return nil, configErrorf("APIKeyConfig.Header", nil, "%s is never sent to the origin as a request header: the key would not arrive", textproto.CanonicalMIMEHeaderKey(header))
	}
	if h := textproto.CanonicalMIMEHeaderKey(header); header != "" && layerHeader(h) {
		return nil, configErrorf("APIKeyConfig.Header", nil, "%s is set or read by another layer (trace context, idempotency): the key would be overwritten, or read as an idempotency key", h)
	}
	if h := textproto.CanonicalMIMEHeaderKey(header); header != "" && meaningHeader(h) {
		return nil, configErrorf("APIKeyConfig.Header", nil, "%s already means something to net/http or the server (the body's media type, coding or other metadata, an expectation, the codings or representations accepted, cache directives, a range or a condition), which the key would replace on every request: use another header", h)
	}
	l, err := newCredLayer(next, "apikey", "APIKeyConfig.Scope", cfg.Source, cfg.Scope)
	if err != nil {
		return nil, err
	}
	if header != "" {
		l.header = textproto.CanonicalMIMEHeaderKey(header)
	}
	l.query = cfg.QueryParam
	return l, nil
}

// unsentHeader reports whether net/http (or a proxy) keeps the canonical
// header name h from reaching the origin when it is set in
// Request.Header: Host, Content-Length, Transfer-Encoding and Trailer are
// never written from it, and the hop-by-hop headers are dropped by HTTP/2
// (or refused with an error that quotes the value) and are a proxy's, not
// the origin's.
func unsentHeader(h string) bool {
	switch h {
	case "Host", "Content-Length", "Transfer-Encoding", "Trailer",
		"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Upgrade",
		"Proxy-Authorization", "Proxy-Authenticate":
		return true
	}
	return false
}

// layerHeader reports whether the canonical header name h is one another
// layer of this package sets or reads whatever the stack: the trace
// context a propagator injects (W3C Trace Context and Baggage: the key
// would be replaced) and the idempotency keys (net/http, for its own
// transparent resends, and the retry layer would take every POST carrying
// one for safe to send again, and a server every POST with the same key
// for one operation). The signature fields clash only with a signer
// (client refuses them then).
func layerHeader(h string) bool {
	switch h {
	case "Traceparent", "Tracestate", "Baggage", "Idempotency-Key", "X-Idempotency-Key":
		return true
	}
	return false
}

// meaningHeader reports whether the canonical header name h has a meaning
// to net/http or to every server that the key, which replaces every value
// of its header, would break: Content-Type and Content-Encoding (the
// body's media type and coding lost, the key read as one), Expect (a
// server answers 417 to an expectation it does not know), Accept-Encoding
// (net/http's transparent gzip turned off, the key read as content
// codings), Range and the conditionals (If-Match, If-None-Match,
// If-Modified-Since, If-Unmodified-Since, If-Range: part of the resource,
// 304, 412 or 416 for every call), content negotiation (Accept,
// Accept-Charset, Accept-Language: the key read as the caller's
// preferences, 406 or another representation), the request's cache
// directives (Cache-Control, Pragma: the caller's no-cache or max-age
// lost, a cache on the way answering stale) and the body's other metadata
// (Content-Language, Content-Location, Content-Range: a server answers a
// PUT carrying Content-Range 400).
func meaningHeader(h string) bool {
	switch h {
	case "Content-Type", "Content-Encoding", "Expect", "Accept-Encoding", "Range",
		"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range",
		"Accept", "Accept-Charset", "Accept-Language", "Cache-Control", "Pragma",
		"Content-Language", "Content-Location", "Content-Range":
		return true
	}
	return false
}

// validQueryName accepts unreserved URL characters only, so the name needs
// no escaping and cannot smuggle in another parameter.
func validQueryName(s string) bool {
	return s != "" && queryNameLen(s) == len(s)
}

// queryNameLen returns the length of s's longest prefix of unreserved
// characters ([A-Za-z0-9._~-]).
func queryNameLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '~' || c == '-') {
			return i
		}
	}
	return len(s)
}

// shownQueryName renders an invalid QueryParam for an error as
// redact.FieldName renders an invalid header name: its valid start and its
// length only. Such a name is most often a pair copied from a URL
// ("api_key=<key>"), whose value is the key.
func shownQueryName(s string) string {
	i := queryNameLen(s)
	return strconv.Quote(s[:min(i, 64)]+"…") + " (" + strconv.Itoa(len(s)) + " bytes, not [A-Za-z0-9._~-] from byte " + strconv.Itoa(i+1) + " on)"
}
