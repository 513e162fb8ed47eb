package tokens

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/securecall/securecall/internal/ascii"
	"github.com/securecall/securecall/internal/configerr"
)

// DefaultTokenRequestTimeout bounds one token request when
// OAuth2Config.HTTPClient is nil (the caller's context may end it sooner).
const DefaultTokenRequestTimeout = 30 * time.Second

// persistTimeout bounds the write of a rotated refresh token. The write runs
// detached from the caller's cancellation: once the server has rotated the
// token, losing the new one would lock the client out.
const persistTimeout = 30 * time.Second

// OAuth2Config describes a client of an OAuth2 token endpoint.
type OAuth2Config struct {
	// TokenURL is the token endpoint. It must be https; http is accepted
	// only for a loopback host (127.0.0.0/8, ::1, localhost), for tests.
	// A port outside 1-65535 is a *ConfigError.
	TokenURL string
	// ClientID identifies the client. Required.
	ClientID string
	// Auth is how the client authenticates: ClientSecretBasic,
	// ClientSecretPost or PrivateKeyJWT. Required.
	Auth ClientAuth
	// Scopes are requested with every client-credentials token request,
	// one scope per element, joined with spaces. Each must be an RFC 6749
	// §3.3 scope-token (printable ASCII but space, '"' and '\'); another
	// (empty, "a b") is a *ConfigError. The scope member of the answer is
	// not checked: a token granted other scopes than requested (RFC 6749
	// §3.3 allows it) is used as it is, and a resource server answers it
	// 403 insufficient_scope, which the auth layer returns as is.
	Scopes []string
	// EndpointParams are extra form parameters of client-credentials
	// token requests ("audience", "resource"). A parameter the request
	// sets itself is a *ConfigError: "grant_type", "scope" when Scopes is
	// set, and the client authentication parameters (client_id,
	// client_secret, client_assertion, client_assertion_type), which Auth
	// sends.
	EndpointParams url.Values
	// HTTPClient sends token requests. It is copied; redirects are refused
	// unless it sets its own CheckRedirect (a redirected token request
	// would carry the client's credentials elsewhere). A Transport holding
	// a nil pointer (a *http.Transport never assigned) is a *ConfigError
	// naming HTTPClient.Transport. Default: a client
	// over http.DefaultTransport with DefaultTokenRequestTimeout. A
	// Refresher's request is bounded by the later of its caller's deadline
	// and DefaultTokenRequestTimeout whatever this client's Timeout is.
	HTTPClient *http.Client
}

// endpoint is a validated OAuth2Config.
type endpoint struct {
	cfg    OAuth2Config
	client *http.Client
}

func newEndpoint(cfg OAuth2Config) (*endpoint, error) {
	if err := checkTokenURL(cfg.TokenURL); err != nil {
		return nil, err
	}
	if cfg.ClientID == "" {
		return nil, configErr("ClientID", "empty client id")
	}
	if cfg.Auth == nil {
		return nil, configErr("Auth", "no client authentication (ClientSecretBasic, ClientSecretPost or PrivateKeyJWT)")
	}
	if err := cfg.Auth.validate(); err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: DefaultTokenRequestTimeout}
	if cfg.HTTPClient != nil {
		if rt := cfg.HTTPClient.Transport; rt != nil && configerr.IsNil(rt) {
			// Not a nil RoundTripper: http.Client would call it, not
			// http.DefaultTransport, and every token request panic.
			return nil, configErr("HTTPClient.Transport", "a nil %T: leave Transport nil for http.DefaultTransport", rt)
		}
		c := *cfg.HTTPClient
		client = &c
	}
	if client.CheckRedirect == nil {
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	for _, sc := range cfg.Scopes {
		if !isScopeToken(sc) {
			return nil, configErr("Scopes", "%q is not an RFC 6749 scope-token (one scope per element, printable ASCII but space, quote and backslash)", sc)
		}
	}
	cfg.Scopes = append([]string(nil), cfg.Scopes...)
	for k := range cfg.EndpointParams {
		switch {
		case k == "grant_type":
			// x/oauth2 lets EndpointParams override it: ClientCredentials
			// would make another grant with the client's credentials.
			return nil, configErr("EndpointParams", "%q is set by the client credentials grant", k)
		case k == "scope" && len(cfg.Scopes) > 0:
			return nil, configErr("EndpointParams", "%q is set by Scopes", k)
		case clientAuthParams[k]:
			return nil, configErr("EndpointParams", "%q is a client authentication parameter, set by Auth", k)
		}
	}
	if cfg.EndpointParams != nil {
		p := make(url.Values, len(cfg.EndpointParams))
		for k, v := range cfg.EndpointParams {
			p[k] = append([]string(nil), v...)
		}
		cfg.EndpointParams = p
	}
	return &endpoint{cfg: cfg, client: client}, nil
}

// isScopeToken reports whether s is 1*NQCHAR (RFC 6749 §3.3): %x21 /
// %x23-5B / %x5D-7E.
func isScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// clientAuthParams are the form parameters of client authentication (RFC 6749
// §2.3.1, RFC 7523 §2.2): in EndpointParams they would add a second
// authentication method to a request, or be replaced by Auth's.
var clientAuthParams = map[string]bool{
	"client_id": true, "client_secret": true,
	"client_assertion": true, "client_assertion_type": true,
}

func checkTokenURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || s == "" {
		return configErr("TokenURL", "not a URL")
	}
	if u.User != nil || u.Fragment != "" || u.Hostname() == "" {
		// A port without a host (":8443") dials the local machine.
		return configErr("TokenURL", "must be an absolute URL with a host, without userinfo or fragment")
	}
	if p := u.Port(); p != "" {
		// url.Parse takes any digits: a port no connection can be made to
		// (0, 65536: a typo) would fail every token request at run time.
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return configErr("TokenURL", "port must be 1-65535")
		}
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
	}
	return configErr("TokenURL", "must use https (http only for a loopback host)")
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// requestContext prepares client authentication for one token request and
// returns the context x/oauth2 must use (it carries the HTTP client), the
// client secret and the auth style. When rt is not nil, the refresh_token
// of the endpoint's success answer is written to it (see expiresInFloor).
func (e *endpoint) requestContext(ctx context.Context, rt *string) (context.Context, string, oauth2.AuthStyle, error) {
	ap, err := e.cfg.Auth.prepare(ctx, e.cfg.TokenURL, e.cfg.ClientID)
	if err != nil {
		return nil, "", 0, err
	}
	c := *e.client
	if len(ap.extra) > 0 {
		c.Transport = &formParams{next: c.Transport, extra: ap.extra}
	}
	c.Transport = expiresInFloor{next: c.Transport, rt: rt}
	return context.WithValue(ctx, oauth2.HTTPClient, &c), ap.secret, ap.style, nil
}

// expiresInFloor rewrites the expires_in of a token endpoint's success
// answer that x/oauth2 cannot parse into an integer it can: a fractional
// or exponent number (3600.5, 3.6e3) is rounded down (RFC 6749 §5.1 wants
// an integer; rounding down only shortens the lifetime) and clamped to the
// int64 range, anything else that is not null ("soon", true), and a
// number between 0 and 1 (0.5, which rounded down would be 0, "no expiry"
// to x/oauth2), becomes -1;
// whitespace around a form value ("3600\n") is ignored, as Token.Extra
// ignores it, never read as no expiry. A success answer over 1 MiB fails
// the request with errResponseTooLarge: x/oauth2 would parse its first
// 1 MiB as if it were the whole answer.
// x/oauth2 would fail the whole request on those and lose a rotated
// refresh token; checkExpiresIn then refuses what is out of range after
// the refresh token is persisted. Body types are told apart as x/oauth2
// does (a form for application/x-www-form-urlencoded and text/plain, JSON
// otherwise). A JSON member whose name matches expires_in only
// case-insensitively ("EXPIRES_IN", which x/oauth2's decoder would read)
// becomes an expires_in of -1: the answer is refused.
//
// When rt is not nil, the refresh_token of a success answer, read as
// x/oauth2 reads it, is written to *rt: a Refresher persists a rotated
// refresh token even from an answer x/oauth2 then refuses (no
// access_token, a member of the wrong kind), since the server has swapped
// the old one for it already.
type expiresInFloor struct {
	next http.RoundTripper
	rt   *string
}

func (t expiresInFloor) RoundTrip(req *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	if err != nil || resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse+1))
	if err != nil {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		return resp, nil // x/oauth2 meets the same error
	}
	if len(body) > maxTokenResponse {
		// x/oauth2 would read the first 1 MiB and parse that: a form's
		// access_token cut short, used as the token.
		resp.Body.Close()
		return nil, errResponseTooLarge
	}
	resp.Body.Close()
	if t.rt != nil {
		*t.rt = answerRefreshToken(resp.Header.Get("Content-Type"), body)
	}
	if b, ok := floorExpiresIn(resp.Header.Get("Content-Type"), body); ok {
		body = b
		resp.ContentLength = int64(len(b))
		resp.Header.Del("Content-Length")
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// maxTokenResponse is the most of a token response x/oauth2 reads; it
// drops the rest without a word.
const maxTokenResponse = 1 << 20

// errResponseTooLarge is ErrMalformedResponse for a success answer over
// maxTokenResponse. It is Temporary, as a body that is no token response
// at all is (a proxy's page).
var errResponseTooLarge = &malformedResponseError{err: errors.New("token response larger than 1 MiB")}

// floorExpiresIn returns body with its expires_in rewritten as
// expiresInFloor says, and false when it needs no rewrite.
func floorExpiresIn(ctype string, body []byte) ([]byte, bool) {
	content, _, _ := mime.ParseMediaType(ctype)
	if content == "application/x-www-form-urlencoded" || content == "text/plain" {
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, false
		}
		s := vals.Get("expires_in")
		if _, err := strconv.Atoi(s); err == nil || s == "" {
			return nil, false // what x/oauth2 reads (and "": no expiry)
		}
		// Around the number, whitespace (a trailing newline) is
		// ignored, as Token.Extra ignores it.
		vals.Set("expires_in", intSeconds(strings.TrimSpace(s)))
		return []byte(vals.Encode()), true
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return nil, false
	}
	// encoding/json, which x/oauth2 decodes with, matches member names to
	// its expires_in field case-insensitively (strings.EqualFold's
	// folding), the last match winning; checkExpiresIn reads the exact
	// name only. A variant ("EXPIRES_IN", alone or beside expires_in)
	// would set a lifetime nobody validated: refuse the answer.
	variant := false
	for k := range m {
		if k != "expires_in" && strings.EqualFold(k, "expires_in") {
			delete(m, k)
			variant = true
		}
	}
	if variant {
		m["expires_in"] = json.RawMessage("-1")
		b, err := json.Marshal(m)
		return b, err == nil
	}
	raw, ok := m["expires_in"]
	if !ok || string(raw) == "null" {
		return nil, false
	}
	var n json.Number // a number, or a string holding one, as x/oauth2 reads it
	if json.Unmarshal(raw, &n) != nil {
		m["expires_in"] = json.RawMessage("-1")
	} else if _, err := n.Int64(); err == nil {
		return nil, false
	} else {
		m["expires_in"] = json.RawMessage(intSeconds(n.String()))
	}
	b, err := json.Marshal(m)
	return b, err == nil
}

// answerRefreshToken returns the refresh_token of a token endpoint's
// success answer as x/oauth2 reads it (a form for
// application/x-www-form-urlencoded and text/plain, otherwise a JSON
// object whose member name matches case-insensitively, the last one
// winning), or "" when it has none x/oauth2 could read.
func answerRefreshToken(ctype string, body []byte) string {
	content, _, _ := mime.ParseMediaType(ctype)
	if content == "application/x-www-form-urlencoded" || content == "text/plain" {
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return ""
		}
		return vals.Get("refresh_token")
	}
	var v struct {
		RefreshToken *string `json:"refresh_token"`
	}
	// A member of the wrong kind elsewhere fails the decoding but leaves
	// the refresh token decoded.
	_ = json.Unmarshal(body, &v)
	if v.RefreshToken == nil {
		return ""
	}
	return *v.RefreshToken
}

// intSeconds returns s, a number, rounded down to an integer and clamped
// to the int64 range; "-1" when s is not a number, or is one between 0
// and 1 (rounded down to 0, "no expiry" to x/oauth2), or one other than 0
// too small for a float64 (1e-400, -1e-400).
func intSeconds(s string) string {
	if !json.Valid([]byte(s)) || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return "-1"
	}
	f, err := strconv.ParseFloat(s, 64) // a JSON number: ±Inf beyond float64
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return "-1" // json.Valid allows whitespace around a number
	}
	if f > 0 && f < 1 || f == 0 && !zeroMantissa(s) {
		// Rounded down it would be 0, which x/oauth2 reads as no expiry:
		// a token living under a second would be served until a 401. A
		// number that underflows float64 (1e-400, -1e-400) parses as 0
		// but is not 0.
		return "-1"
	}
	switch f = math.Floor(f); {
	case f >= math.MaxInt64:
		return strconv.FormatInt(math.MaxInt64, 10)
	case f <= math.MinInt64:
		return strconv.FormatInt(math.MinInt64, 10)
	}
	return strconv.FormatInt(int64(f), 10)
}

// zeroMantissa reports whether every digit of s's mantissa (a JSON
// number's digits before any exponent) is 0.
func zeroMantissa(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 'e' || c == 'E':
			return true
		case c >= '1' && c <= '9':
			return false
		}
	}
	return true
}

// checkExpiresIn refuses a token whose expires_in, as the token endpoint
// sent it (x/oauth2 keeps it in the token's raw fields), is not a whole
// number of seconds from 0 to 2^31-1: x/oauth2 truncates a JSON value to
// 32 bits (-4294963696 would become a lifetime of one hour), caps a larger
// one at 68 years, and reads a form value it cannot parse as no expiry.
func checkExpiresIn(t *oauth2.Token) error {
	var n float64
	switch v := t.Extra("expires_in").(type) {
	case nil:
		return nil
	case float64:
		n = v
	case int64:
		n = float64(v)
	case string:
		if v == "" {
			return nil // a form without expires_in
		}
		i, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return errBadExpiresIn
		}
		n = float64(i)
	default:
		return errBadExpiresIn
	}
	if n != math.Trunc(n) || n < 0 || n > math.MaxInt32 {
		return errBadExpiresIn
	}
	return nil
}

// errBadExpiresIn is ErrMalformedResponse for an expires_in out of range.
var errBadExpiresIn = &malformedResponseError{msg: "expires_in is not one whole number of seconds from 0 to 2147483647 (RFC 6749 §5.1; a member named expires_in in another case counts as a second one)"}

// malformedResponseError matches ErrMalformedResponse and ErrNoToken and
// unwraps to x/oauth2's error, if any.
type malformedResponseError struct {
	msg    string
	err    error
	member bool // err: a JSON object with a member of the wrong kind
}

func (e *malformedResponseError) Error() string {
	if e.err != nil {
		return "tokens: malformed token response: " + e.err.Error()
	}
	return "tokens: malformed token response: " + e.msg
}

func (e *malformedResponseError) Unwrap() error { return e.err }

// Is matches ErrMalformedResponse and ErrNoToken.
func (e *malformedResponseError) Is(target error) bool {
	return target == ErrMalformedResponse || target == ErrNoToken
}

// Temporary reports whether asking again may succeed: true for a body that
// is not a token response at all (x/oauth2 could not parse it: an HTML page
// a proxy answered 200 with, a JSON string), false for a token response
// whose expires_in is out of range or a member of which is of the wrong
// kind (a token_type that is a number, an expires_in that is a word, as
// x/oauth2 refuses under FromOAuth2), which the endpoint will keep
// issuing. transport's AuthError.Temporary reads it.
func (e *malformedResponseError) Temporary() bool { return e.err != nil && !e.member }

// formParams adds form parameters (a fresh client assertion) to the body of
// a token request built by x/oauth2, which has no hook for per-request
// parameters on the refresh_token grant.
type formParams struct {
	next  http.RoundTripper
	extra url.Values
}

func (t *formParams) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("tokens: token request body is not a form: %w", err)
	}
	for k, v := range t.extra {
		vals[k] = v
	}
	enc := vals.Encode()
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(strings.NewReader(enc))
	r.ContentLength = int64(len(enc))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(enc)), nil }
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}

// ClientCredentials is a Source that gets a token with the OAuth2 client
// credentials grant (RFC 6749 §4.4) on every call. It does not cache: put a
// Cache in front of it. Only Bearer tokens are accepted (RFC 6749 §7.1);
// another token_type (DPoP, MAC) fails with an error matching ErrNoToken,
// and so does an access token a bearer header cannot carry (a space, a
// comma, CR/LF, non-ASCII: ErrMalformedToken) and an expires_in that is
// negative, beyond 2^31-1 or not a number (ErrMalformedResponse; a
// fractional one is rounded down).
type ClientCredentials struct {
	ep *endpoint
}

// NewClientCredentials returns a client-credentials Source for cfg.
func NewClientCredentials(cfg OAuth2Config) (*ClientCredentials, error) {
	ep, err := newEndpoint(cfg)
	if err != nil {
		return nil, err
	}
	return &ClientCredentials{ep: ep}, nil
}

// Token makes one token request.
// On a zero ClientCredentials (not made by NewClientCredentials) it returns
// a *ConfigError.
func (c *ClientCredentials) Token(ctx context.Context) (Token, error) {
	if c.ep == nil {
		return Token{}, zeroErr(c)
	}
	rctx, secret, style, err := c.ep.requestContext(ctx, nil)
	if err != nil {
		return Token{}, err
	}
	cc := clientcredentials.Config{
		ClientID:       c.ep.cfg.ClientID,
		ClientSecret:   secret,
		TokenURL:       c.ep.cfg.TokenURL,
		Scopes:         c.ep.cfg.Scopes,
		EndpointParams: c.ep.cfg.EndpointParams,
		AuthStyle:      style,
	}
	t, err := cc.Token(rctx)
	if err != nil {
		return Token{}, wrapTokenErr(err)
	}
	return bearerToken(t)
}

// bearerToken converts a token endpoint's answer to a Token, refusing any
// token type but Bearer (in any case; a missing token_type counts as
// Bearer, as in x/oauth2): RFC 6749 §7.1 says a client must not use a token
// whose type it does not understand, and a DPoP-bound token sent without a
// proof, or a MAC token sent as a header value, only earns 401s.
func bearerToken(t *oauth2.Token) (Token, error) {
	if t.Type() != "Bearer" {
		return Token{}, &tokenTypeError{typ: sanitizeCode(t.TokenType)}
	}
	if err := checkAccessToken(t.AccessToken); err != nil {
		return Token{}, err
	}
	if err := checkExpiresIn(t); err != nil {
		return Token{}, err
	}
	return FromOAuth2Token(t), nil
}

// checkAccessToken refuses an access token that cannot go in a bearer
// Authorization header: RFC 6750 §2.1's b64token, widened to the printable
// ASCII real servers use ("!" in Salesforce tokens), but no space, comma,
// quote or backslash (they would split or quote the header's credentials)
// and no control character (CR/LF would inject a header) or non-ASCII byte.
func checkAccessToken(s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 0x20 || c >= 0x7f || c == ',' || c == '"' || c == '\\' {
			return errMalformedToken
		}
	}
	return nil
}

// errMalformedToken is ErrMalformedToken matching ErrNoToken; it never
// carries the token.
var errMalformedToken = &malformedTokenError{}

type malformedTokenError struct{}

func (*malformedTokenError) Error() string {
	return "tokens: token endpoint issued an access token a bearer header cannot carry (space, comma, quote, control or non-ASCII character; RFC 6750 §2.1)"
}

// Is matches ErrMalformedToken and ErrNoToken.
func (*malformedTokenError) Is(target error) bool {
	return target == ErrMalformedToken || target == ErrNoToken
}

// tokenTypeError: the token endpoint issued a token of an unsupported type.
type tokenTypeError struct{ typ string }

func (e *tokenTypeError) Error() string {
	return "tokens: token endpoint issued a " + strconv.Quote(e.typ) + " token, not Bearer (RFC 6749 §7.1)"
}

// Is matches ErrUnsupportedTokenType and ErrNoToken.
func (e *tokenTypeError) Is(target error) bool {
	return target == ErrUnsupportedTokenType || target == ErrNoToken
}

// Refresher is a Source that gets access tokens with the refresh_token grant
// (RFC 6749 §6), one token request per call; put a Cache in front of it.
// Only Bearer tokens are accepted, as for ClientCredentials.
//
// The refresh token lives in a Store. Refresher reads it on first use (and
// again after the endpoint rejected it with invalid_grant, in case it was
// re-provisioned: that read bypasses a cache, through the Store's Refresh
// method (CachedStore.Refresh, or Chain.Refresh, which reads its backends
// past theirs), so a refresh token another process provisioned is seen).
// A stored value that is empty, or has a control character (the trailing
// newline of a value provisioned with echo), is no refresh token: Token
// returns an error naming the key and matching ErrNoToken, without a token
// request, and the next call reads the store again the same way.
// When the endpoint rotates the refresh token, Refresher
// writes the new one to the Store BEFORE it returns the new access token;
// if that write fails, Token returns the error and no token, and keeps the
// new refresh token in memory so the next call can use it. Until a write
// succeeds, every refresh writes the refresh token it holds, rotated again
// or not, and returns no token while the write fails: a server that does
// not rotate on the next refresh must not leave the dead one in the Store.
// A success answer that is refused (no access_token, a member of the
// wrong kind, a token type but Bearer) still has its rotated refresh
// token persisted first: the server has swapped the old one for it.
//
// One write failure is not a failed refresh: a *ChainError with Op "set"
// (from a Chain, found with errors.As), which says that the Chain's primary
// backend holds the new refresh token and that some fallback holds an old
// copy it could not update (a read-only environment variable) or could not
// be checked (a locked keyring). Failing the refresh there would fail every
// later refresh too, as each rotates the token again and meets the same
// fallback: Token returns the access token and reports the error to the
// handler set with WithRefresherErrorHandler, or, without one, logs a
// warning with slog.Default (the key and the backend names, no secret),
// once per set of backends. Remove the stale copy: read from that fallback
// later (the primary down), the old refresh token would be refused, or
// trip the server's reuse detection. The same holds for an error matching
// ErrStaleCopy (from any store, found with errors.Is): the store holds the
// new refresh token, and an old copy beside it could not be deleted (a
// Secret Service prompt dismissed); Token returns the access token and
// reports the error the same way (the warning names the key only).
//
// Before each later refresh, Refresher reads the store again (past a
// cache; a Chain's primary backend only) and uses the refresh token it
// holds when that differs from its own: another Refresher sharing the store
// (a replica, a second client of this process) rotated it since, and the
// one in memory is dead. A failed read keeps the one in memory; so does a
// refresh token not yet written (see above), and so does a read that
// returns a refresh token this Refresher saw rotated away (by its own
// refresh, or by another's it adopted) since its last write that left no
// old copy: after a write that matched ErrStaleCopy the store may return
// that old copy (the Secret Service serves either item of a key), and
// adopting it would send a rotated-away refresh token. A newer one,
// another Refresher's rotation, is adopted all the same.
//
// Calls are serialised: two concurrent uses of one refresh token would look
// like a replay to a server with reuse detection, which then revokes the
// grant. Refreshers sharing a store are not serialised with each other:
// two refreshing at the same moment still present one refresh token twice,
// and a server with reuse detection revokes the grant for all of them, the
// one whose refresh succeeded included (docs/tokens.md: refresh from one
// process, or give each replica a grant of its own).
type Refresher struct {
	ep      *endpoint
	store   Store
	key     string
	onError func(error)
	sem     chan struct{}       // one refresh at a time
	rt      Token               // current refresh token, a Token so that no fmt verb prints it (guarded by sem)
	unsaved bool                // rt was rotated but not written: the store holds a dead one (guarded by sem)
	retired [][sha256.Size]byte // digests of the refresh tokens seen rotated away since the last write that left no old copy: a read returning one is an old copy (guarded by sem)
	reread  bool                // rt was rejected with invalid_grant: read the backend, not a cache (guarded by sem)
	warned  map[string]bool     // backend sets already logged (guarded by sem)
	// issued is the grantDigest of the refresh token held when the last
	// access token was returned (a rotated one: the grant's current
	// refresh token), which a persisting Cache stores with that token.
	issued atomic.Pointer[string]
}

// RefresherOption configures NewRefresher.
type RefresherOption interface{ applyRefresher(*Refresher) }

type refresherOptionFunc func(*Refresher)

func (f refresherOptionFunc) applyRefresher(r *Refresher) { f(r) }

// WithRefresherErrorHandler sets a function called with every write of a
// rotated refresh token that reached a Chain's primary backend but not
// every fallback holding the key (a *ChainError with Op "set"; the refresh
// itself succeeds, see Refresher), with every write that stored it but
// left an old copy in the store (ErrStaleCopy; likewise), and with every failed write of a
// rotated refresh token whose caller had stopped waiting (its context
// ended), which no Token call returns. It is called on the refreshing
// goroutine, one call at a time, possibly after the caller of Token has
// stopped waiting, and must not block; a panic in it is recovered and
// dropped. Default: a warning logged with
// slog.Default, once per set of backends, for the first; an error logged
// with slog.Default for the second (the key and the store's error, no
// secret).
func WithRefresherErrorHandler(f func(error)) RefresherOption {
	return refresherOptionFunc(func(r *Refresher) { r.onError = f })
}

// NewRefresher returns a refresh-token Source for cfg that keeps its refresh
// token in store under key. A refresh sends neither cfg.Scopes nor
// cfg.EndpointParams, which are client-credentials fields: the token it
// gets keeps the grant's scopes (RFC 6749 §6 lets a refresh ask for no
// more than were granted), and one OAuth2Config can serve both sources.
func NewRefresher(cfg OAuth2Config, store Store, key string, opts ...RefresherOption) (*Refresher, error) {
	ep, err := newEndpoint(cfg)
	if err != nil {
		return nil, err
	}
	if store == nil {
		return nil, configErr("store", "nil store for the refresh token")
	}
	if err := unusable("store", store); err != nil {
		return nil, err
	}
	if err := ValidateKey(key); err != nil {
		return nil, &ConfigError{Option: "key", Err: err}
	}
	r := &Refresher{ep: ep, store: store, key: key, sem: make(chan struct{}, 1)}
	for _, o := range opts {
		if o != nil {
			o.applyRefresher(r)
		}
	}
	return r, nil
}

// Token refreshes the access token, persisting a rotated refresh token
// first.
//
// Once the token request is sent, the server may rotate the refresh token,
// and the old one is dead: the refresh therefore runs detached from ctx's
// cancellation and deadline (bounded by the later of ctx's deadline and
// DefaultTokenRequestTimeout from now), and a caller whose ctx ends stops
// waiting while the refresh goes on and persists the new refresh token.
// A write of it that then fails, which no Token call returns, goes to the
// WithRefresherErrorHandler handler (default: an error logged with
// slog.Default); the next refresh writes it again.
//
// On a zero Refresher (not made by NewRefresher) it returns a *ConfigError.
func (r *Refresher) Token(ctx context.Context) (Token, error) {
	if r.sem == nil {
		return Token{}, zeroErr(r)
	}
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return Token{}, fmt.Errorf("tokens: waiting for refresh: %w", context.Cause(ctx))
	}
	if ctx.Err() != nil {
		// Both were ready and select took the semaphore: a caller already
		// gone starts no detached refresh (a token request, a rotation).
		<-r.sem
		return Token{}, fmt.Errorf("tokens: waiting for refresh: %w", context.Cause(ctx))
	}
	deadline := time.Now().Add(DefaultTokenRequestTimeout)
	if d, ok := ctx.Deadline(); ok && d.After(deadline) {
		deadline = d
	}
	rctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	// A secret read under the refresh token's key (FromStore) would be
	// overwritten by a rotated refresh token: the read refuses it.
	rctx = withWriteTarget(rctx, r.store, r.key, "key", "the refresh token a Refresher keeps")
	type answer struct {
		tok Token
		err error
	}
	ch := make(chan answer, 1)
	var mu sync.Mutex
	gone := false // the caller stopped waiting (guarded by mu)
	go func() {
		defer func() { <-r.sem }()
		defer cancel()
		tok, err := r.refreshGuarded(rctx)
		// unsaved: the store does not hold the current refresh token,
		// which the server swapped the old one for (r.sem is held).
		lost := err != nil && r.unsaved
		mu.Lock()
		if !gone {
			ch <- answer{tok, err}
			mu.Unlock()
			return
		}
		mu.Unlock()
		if lost {
			// Nobody reads the answer: the failed write of a rotated
			// refresh token must not go unseen.
			r.reportUnsaved(rctx, err)
		}
	}()
	select {
	case a := <-ch:
		return a.tok, a.err
	case <-ctx.Done():
		mu.Lock()
		gone = true
		mu.Unlock()
		select {
		case a := <-ch:
			// The answer came as ctx ended: it is the caller's (a failed
			// write among others), or nobody would see it.
			return a.tok, a.err
		default:
		}
		return Token{}, fmt.Errorf("tokens: waiting for refresh: %w", context.Cause(ctx))
	}
}

// reportUnsaved hands err, a failed write of a rotated refresh token whose
// refresh no caller waited for any more, to the error handler or, without
// one, logs it with slog.Default as an error; r.sem is held.
func (r *Refresher) reportUnsaved(ctx context.Context, err error) {
	if r.onError != nil {
		callHandler(r.onError, err)
		return
	}
	slog.Default().LogAttrs(ctx, slog.LevelError,
		"tokens: rotated refresh token not persisted; only memory holds it until a later refresh writes it",
		slog.String("key", r.key), slog.String("error", err.Error()))
}

// refreshGuarded is refresh on the Refresher's own goroutine, where no
// caller's recover reaches: a panic in the caller's code it runs (the
// store, a SecretFunc, a ClientAuth, the HTTP client's transport) would
// end the process. It is a failed refresh, named by the panic value's type
// only (its text may hold a secret). A refresh token rotated but not
// written stays unsaved, to be written by the next refresh.
func (r *Refresher) refreshGuarded(ctx context.Context) (tok Token, err error) {
	defer func() {
		if v := recover(); v != nil {
			tok, err = Token{}, fmt.Errorf("%w: the refresh panicked (%T)", ErrNoToken, v)
		}
	}()
	return r.refresh(ctx)
}

// refresh makes one refresh_token grant request; r.sem is held.
func (r *Refresher) refresh(ctx context.Context) (Token, error) {
	if r.rt.IsZero() {
		get := r.store.Get
		if rs, ok := r.store.(storeRefresher); ok && r.reread {
			// A cache in front of the backend would hand back the
			// rejected refresh token, not a re-provisioned one.
			get = rs.Refresh
		}
		b, err := get(ctx, r.key)
		if err != nil {
			return Token{}, fmt.Errorf("tokens: read refresh token: %w", err)
		}
		r.rt = NewToken(string(b), "", time.Time{})
		r.unsaved, r.reread = false, false
		clear(b)
		if r.rt.IsZero() {
			return Token{}, fmt.Errorf("tokens: refresh token under %q is empty: %w", r.key, ErrNoToken)
		}
		if ascii.HasCTL(r.rt.Value()) {
			// No refresh token (1*VSCHAR, RFC 6749 Appendix A.17): the
			// server would answer invalid_grant, as if the grant were
			// revoked. Read the backend again next time, past a cache,
			// for a re-provisioned one.
			r.rt, r.reread = Token{}, true
			return Token{}, fmt.Errorf("tokens: refresh token under %q has a control character (a trailing newline?), which no refresh token has (RFC 6749 Appendix A.17): %w", r.key, ErrNoToken)
		}
	} else if !r.unsaved {
		r.adopt(ctx)
	}
	var answered string // the refresh_token of a success answer
	rctx, secret, style, err := r.ep.requestContext(ctx, &answered)
	if err != nil {
		return Token{}, err
	}
	conf := oauth2.Config{
		ClientID:     r.ep.cfg.ClientID,
		ClientSecret: secret,
		Endpoint:     oauth2.Endpoint{TokenURL: r.ep.cfg.TokenURL, AuthStyle: style},
	}
	t, err := conf.TokenSource(rctx, &oauth2.Token{RefreshToken: r.rt.Value()}).Token()
	if err != nil {
		err = wrapTokenErr(err)
		if isInvalidGrant(err) {
			r.rt, r.unsaved, r.reread = Token{}, false, true // dead; read the store again next time
			return Token{}, err
		}
		if answered == "" {
			return Token{}, err
		}
		// A success answer that x/oauth2 refused (no access_token, a
		// member of the wrong kind): the server may have rotated the
		// refresh token all the same, and the old one is dead.
		if perr := r.rotate(ctx, answered); perr != nil {
			return Token{}, perr
		}
		return Token{}, err
	}
	if err := r.rotate(ctx, t.RefreshToken); err != nil {
		return Token{}, err
	}
	tok, err := bearerToken(t)
	if err == nil {
		g := grantDigest(r.rt.Value())
		r.issued.Store(&g)
	}
	return tok, err
}

// adopt reads the store again before a refresh with a refresh token the
// store already held, and takes the one it holds now when that differs:
// another Refresher sharing the store (a replica, a second client of this
// process) has rotated it since, and the one in memory is dead; using it
// would look like a replay to a server with reuse detection, which then
// revokes the whole grant. The read goes past a cache, and a Chain's is
// its primary backend's only: a fallback may hold a copy older than the
// one in memory (see readPrimary). A failed read, or a value that is no
// refresh token (empty, a control character), keeps the one in memory,
// as does a read that takes longer than refresherRereadTimeout; r.sem is
// held.
func (r *Refresher) adopt(ctx context.Context) {
	// A check, not a need: a store that stopped answering must not hold
	// the refresh (the one in memory is used past the bound).
	rctx, cancel := context.WithTimeout(ctx, refresherRereadTimeout)
	b, err := readPrimary(rctx, r.store, r.key)
	cancel()
	if err != nil {
		return
	}
	if v := string(b); v != "" && !ascii.HasCTL(v) && v != r.rt.Value() && !r.isRetired(v) {
		// Another Refresher rotated the one in memory away. A value
		// seen rotated away is not adopted: the store may hold an old
		// copy beside the current one (ErrStaleCopy), and serve it.
		r.retire(r.rt.Value())
		r.rt = NewToken(v, "", time.Time{})
	}
	clear(b)
}

// maxRetired bounds Refresher.retired: the oldest digest goes first.
const maxRetired = 16

// retire records rt as rotated away (see Refresher.retired). r.sem is
// held.
func (r *Refresher) retire(rt string) {
	if len(r.retired) == maxRetired {
		r.retired = slices.Delete(r.retired, 0, 1)
	}
	r.retired = append(r.retired, sha256.Sum256([]byte(rt)))
}

// isRetired reports whether rt was recorded by retire. r.sem is held.
func (r *Refresher) isRetired(rt string) bool {
	return slices.Contains(r.retired, sha256.Sum256([]byte(rt)))
}

// refresherRereadTimeout bounds the Refresher's read of its store before
// a later refresh (adopt).
const refresherRereadTimeout = time.Second

// readPrimary reads key from s past any cache, and from a Chain's primary
// backend only: a fallback the Chain could not update on a rotation (a
// read-only environment variable) serves the rotated-away refresh token
// while the primary is down.
func readPrimary(ctx context.Context, s Store, key string) ([]byte, error) {
	switch st := s.(type) {
	case *Chain:
		if len(st.links) == 0 {
			return nil, zeroErr(st)
		}
		return readPrimary(ctx, st.links[0].Store, key)
	case *CachedStore:
		if _, ok := st.s.(*Chain); ok {
			return readPrimary(ctx, st.s, key)
		}
		return st.Refresh(ctx, key)
	case storeRefresher:
		return st.Refresh(ctx, key)
	}
	return s.Get(ctx, key)
}

// rotate takes rt, the refresh token of a success answer ("" when it had
// none), as the current one and writes the current one to the store if it
// is not there yet; r.sem is held.
func (r *Refresher) rotate(ctx context.Context, rt string) error {
	if rt != "" && rt != r.rt.Value() {
		// Rotated: the old refresh token is now dead on the server.
		r.retire(r.rt.Value())
		r.rt, r.unsaved = NewToken(rt, "", time.Time{}), true
	}
	if r.unsaved {
		// Rotated now, or by an earlier refresh whose write failed: a
		// server need not rotate again (RFC 6749 §6), and without this
		// write the store would keep the dead token for good.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), persistTimeout)
		werr := r.store.Set(wctx, r.key, []byte(r.rt.Value()))
		cancel()
		var ce *ChainError
		switch {
		case werr == nil:
			// No old copy left: the store serves the new one alone.
			r.unsaved, r.retired = false, r.retired[:0]
		case errors.As(werr, &ce) && ce.Op == "set":
			// The primary holds the new refresh token; a fallback is
			// stale, or the primary keeps an old copy too (see Refresher).
			r.unsaved = false
			if !errors.Is(werr, ErrStaleCopy) {
				r.retired = r.retired[:0] // the primary, which adopt reads, has none
			}
			r.reportStaleFallback(ctx, ce.Backends, fmt.Errorf("tokens: persist rotated refresh token: %w", werr))
		case errors.Is(werr, ErrStaleCopy):
			// The store holds the new refresh token; an old copy beside
			// it could not be deleted (see Refresher).
			r.unsaved = false
			r.reportStaleFallback(ctx, nil, fmt.Errorf("tokens: persist rotated refresh token: %w", werr))
		default:
			return fmt.Errorf("tokens: persist rotated refresh token: %w", werr)
		}
	}
	return nil
}

// reportStaleFallback hands err to the error handler or, without one, logs
// a warning naming the key and the Chain's fallbacks (names), once per set
// of them; with none (an ErrStaleCopy from the store itself), the warning
// names the key and is logged once. r.sem is held.
func (r *Refresher) reportStaleFallback(ctx context.Context, names []string, err error) {
	if r.onError != nil {
		callHandler(r.onError, err)
		return
	}
	backends := slices.Clone(names)
	slices.Sort(backends)
	id := strings.Join(backends, "\x00")
	if names == nil {
		id = "\x00stale copy"
	}
	if r.warned[id] {
		return
	}
	if r.warned == nil {
		r.warned = map[string]bool{}
	}
	r.warned[id] = true
	if names == nil {
		slog.Default().LogAttrs(ctx, slog.LevelWarn,
			"tokens: rotated refresh token persisted, but the store may keep an old copy beside it; remove it",
			slog.String("key", r.key))
		return
	}
	slog.Default().LogAttrs(ctx, slog.LevelWarn,
		"tokens: rotated refresh token persisted, but these backends may hold an old copy; remove it",
		slog.String("key", r.key), slog.Any("backends", backends))
}

// storeRefresher is a Store with a cache (CachedStore, or a Chain over
// one) whose Refresh reads the backend again.
type storeRefresher interface {
	Refresh(ctx context.Context, key string) ([]byte, error)
}

func isInvalidGrant(err error) bool {
	te, ok := err.(*TokenError)
	return ok && te.Code == "invalid_grant"
}

// FromOAuth2Token converts an x/oauth2 token to a Token (access token, its
// type as normalised by oauth2.Token.Type, expiry). The refresh token is not
// carried over. A nil t gives the zero Token.
func FromOAuth2Token(t *oauth2.Token) Token {
	if t == nil {
		return Token{}
	}
	return NewToken(t.AccessToken, t.Type(), t.Expiry)
}

// FromOAuth2 adapts an oauth2.TokenSource (from golang.org/x/oauth2 or a
// library built on it, such as golang.org/x/oauth2/google) to a Source.
// oauth2.TokenSource.Token takes no context: ctx is checked before the call
// only, and the token source uses the context it was built with (a Cache in
// front still stops waiting for it after its refresh timeout). Errors from
// the token endpoint become *TokenError values; an access token a header
// cannot carry fails with ErrMalformedToken. Only Bearer tokens are
// accepted, as for ClientCredentials (any case; no token_type counts as
// Bearer): another type (DPoP, MAC, ...) fails with an error matching
// ErrUnsupportedTokenType and ErrNoToken.
//
// ts exposes no configuration: a Cache persisting its token
// (WithPersistence) cannot tell a restart with other scopes, another
// audience, client or token endpoint from one with the same, and reads the
// old configuration's token back until it expires, as it does for a
// ClientCredentials' token only when the configuration is the same. Name
// the configuration in the persistence key, or delete it when the
// configuration changes (see WithPersistence).
func FromOAuth2(ts oauth2.TokenSource) Source {
	return oauth2Source(func(ctx context.Context) (Token, error) {
		if err := ctx.Err(); err != nil {
			return Token{}, err
		}
		t, err := ts.Token()
		if err != nil {
			return Token{}, wrapTokenErr(err)
		}
		tok := FromOAuth2Token(t)
		if tok.IsZero() {
			return Token{}, ErrNoToken
		}
		if tok.Type() != "Bearer" {
			// RFC 6749 §7.1, as bearerToken: a DPoP-bound token sent
			// without its proof, a MAC token or a "Bearer x" type put
			// in front of the value only earns 401s.
			return Token{}, &tokenTypeError{typ: sanitizeCode(t.TokenType)}
		}
		if err := checkAccessToken(tok.Value()); err != nil {
			return Token{}, err
		}
		if err := checkExpiresIn(t); err != nil {
			return Token{}, err
		}
		return tok, nil
	})
}

// oauth2Source is FromOAuth2's Source: a SourceFunc that a Cache knows
// issues Bearer tokens only (bearerOnly).
type oauth2Source func(ctx context.Context) (Token, error)

func (f oauth2Source) Token(ctx context.Context) (Token, error) { return f(ctx) }

// ToOAuth2 adapts a Source to an oauth2.TokenSource, for libraries that take
// one (oauth2.NewClient, gRPC credentials). Every Token call uses ctx.
func ToOAuth2(ctx context.Context, src Source) oauth2.TokenSource {
	return oauth2Adapter{ctx: ctx, src: src}
}

type oauth2Adapter struct {
	ctx context.Context
	src Source
}

func (a oauth2Adapter) Token() (*oauth2.Token, error) {
	t, err := a.src.Token(a.ctx)
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: t.Value(), TokenType: t.Type(), Expiry: t.Expiry()}, nil
}
