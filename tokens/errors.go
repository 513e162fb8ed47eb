package tokens

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/securecall/securecall/internal/configerr"
	"github.com/securecall/securecall/internal/redact"

	"golang.org/x/oauth2"
)

// Sentinel errors. Test for them with errors.Is; the error returned is
// usually a struct (*StoreError, *TokenError, *RefreshError) that wraps one
// of them and carries the details.
var (
	// ErrNoToken: a source has no token to give (an empty static token, an
	// empty token endpoint answer, no refresh token provisioned, a stored
	// refresh token or persisted Cache token that is empty or corrupt). A token
	// endpoint's success answer without an access_token (x/oauth2's
	// "server response missing access_token") matches it, and
	// ErrMalformedResponse too, with x/oauth2's error kept in the chain.
	ErrNoToken = errors.New("tokens: no token")
	// ErrBackoff: the Cache has no valid token and is waiting before it
	// asks its source again, because the previous refresh failed. The
	// *RefreshError that matches it also wraps that failure.
	ErrBackoff = errors.New("tokens: refresh backing off after a failure")
	// ErrTokenRejected: after a Cache's token was invalidated (a server
	// answered 401 to it), the refresh handed back that same token. The
	// Cache keeps serving it but counts the refresh as failed and backs
	// off rather than ask its source again on every 401 (see Cache).
	ErrTokenRejected = errors.New("tokens: source handed back the token that was just rejected")
	// ErrClosed: the Cache was closed (Cache.Close) and has no fresh
	// token to hand: it starts no refresh any more, and a refresh that was
	// running at Close was cancelled.
	ErrClosed = errors.New("tokens: cache closed")
	// ErrInvalidGrant: the token endpoint answered invalid_grant (a
	// revoked, expired or reused refresh token). Retrying cannot help.
	ErrInvalidGrant = errors.New("tokens: invalid_grant")
	// ErrInvalidClient: the token endpoint refused the client's
	// authentication (wrong secret, unknown key).
	ErrInvalidClient = errors.New("tokens: invalid_client")
	// ErrUnsupportedTokenType: the token endpoint issued a token of another
	// type than Bearer (DPoP, MAC), which the client must not use (RFC 6749
	// §7.1). The client's registration needs changing; retrying cannot
	// help. The error matches ErrNoToken too.
	ErrUnsupportedTokenType = errors.New("tokens: unsupported token type")
	// ErrMalformedToken: the token endpoint issued an access token that
	// cannot go in a bearer Authorization header (RFC 6750 §2.1): one with
	// a space, a comma, a quote, a backslash, a control character (CR/LF
	// would inject a header) or a byte outside ASCII. The token is not
	// used; the error matches ErrNoToken too. StoreSource reports it for a
	// stored secret no header can carry (see StoreSource).
	ErrMalformedToken = errors.New("tokens: malformed access token")
	// ErrMalformedResponse: the token endpoint's success answer cannot be
	// read as a token response (RFC 6749 §5.1): its expires_in is negative,
	// beyond 2^31-1 seconds or not a number (a fractional one is rounded
	// down), a JSON member names it in another case ("EXPIRES_IN"), a
	// member is of the wrong kind (a token_type or access_token that is a
	// number), the access_token is missing, the body is not JSON or a
	// form, or it is over 1 MiB (x/oauth2's limit). The token is not used
	// (a rotated refresh token is still persisted first); the error
	// matches ErrNoToken too.
	ErrMalformedResponse = errors.New("tokens: malformed token response")

	// ErrNotFound: the store has no secret under that key.
	ErrNotFound = errors.New("tokens: secret not found")
	// ErrUnavailable: the store cannot be reached (no keyring service, no
	// D-Bus session, too many calls still blocked).
	ErrUnavailable = errors.New("tokens: secret store unavailable")
	// ErrLocked: the store exists but is locked (a keyring nobody
	// unlocked).
	ErrLocked = errors.New("tokens: secret store locked")
	// ErrTimeout: the store did not answer within its deadline.
	ErrTimeout = errors.New("tokens: secret store timed out")
	// ErrTooLarge: the value exceeds the store's size limit.
	ErrTooLarge = errors.New("tokens: secret too large for the store")
	// ErrReadOnly: the store cannot be written (environment variables, a
	// FileStore on a read-only file system).
	ErrReadOnly = errors.New("tokens: secret store is read-only")
	// ErrInsecureFile: a secret file or its directory is readable or
	// writable by users other than its owner, or owned by another user.
	ErrInsecureFile = errors.New("tokens: secret file has insecure permissions")
	// ErrStaleCopy: a write stored the new value, but an old copy of the
	// secret may remain beside it in the store: one the store could not
	// delete, or could not look for (the Secret Service keyring, when
	// another program's item of the key cannot be deleted). The error
	// matches the failure's own sentinel too (ErrLocked for a dismissed
	// prompt). The write itself succeeded: a Refresher serves the token
	// and reports the error (see Refresher).
	ErrStaleCopy = errors.New("tokens: the new value is stored, but an old copy may remain")
	// ErrInvalidKey: a secret key is empty, longer than MaxKeyLen, has
	// characters outside [A-Za-z0-9._-] or does not start with a letter
	// or digit.
	ErrInvalidKey = errors.New("tokens: invalid secret key")
)

// IsUnavailable reports whether err means a store could not serve a request
// right now (unavailable, locked or timed out), as opposed to "not found" or
// a permanent failure. A Chain falls back on such errors when configured
// with WhenUnavailable.
func IsUnavailable(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, ErrLocked) || errors.Is(err, ErrTimeout)
}

// ConfigError reports an invalid configuration given to a constructor of
// this package. Option names the offending field or option. It is the same
// type as transport.ConfigError and client.ConfigError.
type ConfigError = configerr.Error

func configErr(field, format string, args ...any) *ConfigError {
	return &ConfigError{Option: field, Reason: fmt.Sprintf(format, args...)}
}

// StoreError reports a failed secret store operation. Err is the sentinel
// that classifies it (ErrNotFound, ErrUnavailable, ErrLocked, ErrTimeout,
// ErrTooLarge, ErrReadOnly, ErrInsecureFile, ErrInvalidKey) or nil when the
// failure is not one of those; Cause is the backend's own error, when there
// is one. Both are reachable with errors.Is / errors.As. The message names
// the key, never the value.
type StoreError struct {
	Backend string // "keyring", "file", "env", "memory", ...
	Op      string // "get", "set", "delete"
	Key     string
	Err     error
	Cause   error
}

func (e *StoreError) Error() string {
	var b strings.Builder
	b.WriteString("tokens: ")
	b.WriteString(e.Backend)
	b.WriteByte(' ')
	b.WriteString(e.Op)
	b.WriteByte(' ')
	b.WriteString(strconv.Quote(e.Key))
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "tokens: "))
	}
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

// RewriteErrors returns a copy of e whose Err and Cause are rewritten, for
// error redaction that keeps the *StoreError reachable (see RefreshError).
func (e *StoreError) RewriteErrors(rewrite func(error) error) error {
	c := *e
	c.Err, c.Cause = rewrite(e.Err), rewrite(e.Cause)
	return &c
}

func (e *StoreError) Unwrap() []error {
	switch {
	case e.Err != nil && e.Cause != nil:
		return []error{e.Err, e.Cause}
	case e.Err != nil:
		return []error{e.Err}
	case e.Cause != nil:
		return []error{e.Cause}
	}
	return nil
}

// TokenError reports an error answer from an OAuth2 token endpoint. Its
// message holds the RFC 6749 error code and the HTTP status only, never the
// response body (which may echo credentials); the *oauth2.RetrieveError
// with the body, the description and the response stays reachable with
// errors.As.
//
// errors.Is(err, ErrInvalidGrant) and errors.Is(err, ErrInvalidClient)
// match on the error code.
type TokenError struct {
	StatusCode int    // HTTP status of the token endpoint's answer
	Code       string // RFC 6749 error code ("invalid_grant"), may be empty
	Err        error  // the *oauth2.RetrieveError
}

func (e *TokenError) Error() string {
	var b strings.Builder
	b.WriteString("tokens: token endpoint refused the request")
	if e.Code != "" {
		b.WriteString(": ")
		b.WriteString(sanitizeCode(e.Code))
	}
	if e.StatusCode != 0 {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(e.StatusCode))
		b.WriteByte(')')
	}
	return b.String()
}

func (e *TokenError) Unwrap() error { return e.Err }

// Is matches ErrInvalidGrant and ErrInvalidClient by error code.
func (e *TokenError) Is(target error) bool {
	switch target {
	case ErrInvalidGrant:
		return e.Code == "invalid_grant"
	case ErrInvalidClient:
		return e.Code == "invalid_client"
	}
	return false
}

// sanitizeCode keeps an error code printable: RFC 6749 limits it to
// %x20-21 / %x23-5B / %x5D-7E; anything else (a hostile endpoint) is cut.
func sanitizeCode(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return s[:i] + "…"
		}
	}
	return s
}

// missingAccessToken is the message of x/oauth2's error for a success
// answer without an access_token (it has no sentinel to match).
const missingAccessToken = "server response missing access_token"

// cannotParseJSON and cannotParseForm start the messages of x/oauth2's
// errors for a success answer it cannot parse (no sentinel either).
const (
	cannotParseJSON = "oauth2: cannot parse json: "
	cannotParseForm = "oauth2: cannot parse response: "
)

// wrapTokenErr turns an x/oauth2 error into a *TokenError (for endpoint
// answers) or a "tokens: token request" error (transport failures; an
// answer without an access_token also matches ErrNoToken).
func wrapTokenErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, errResponseTooLarge) {
		// From expiresInFloor through net/http's *url.Error, whose
		// message repeats the token URL.
		return errResponseTooLarge
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		te := &TokenError{Code: re.ErrorCode, Err: re}
		if re.Response != nil {
			te.StatusCode = re.Response.StatusCode
		}
		return te
	}
	if strings.HasSuffix(err.Error(), missingAccessToken) {
		return &noAccessTokenError{err: err}
	}
	if msg := err.Error(); strings.Contains(msg, cannotParseJSON) || strings.Contains(msg, cannotParseForm) {
		// A success answer x/oauth2 could not read (not JSON, an
		// expires_in it cannot parse: only under FromOAuth2, whose
		// token requests expiresInFloor does not see). Its message
		// quotes the offending JSON literal, never the whole body.
		return &malformedResponseError{err: err, member: badMember(msg)}
	}
	// net/http's *url.Error quotes the token URL, query included: a
	// credential a token endpoint takes there must not reach the
	// message. Query values are redacted (keys, host and path shown);
	// errors.As still reaches the *url.Error.
	return fmt.Errorf("tokens: token request: %w", tokenURLRedaction.Error(err))
}

// tokenURLRedaction shows no query value of a token URL, as a token
// request's audit record and span do (transport.NewTokenRequests).
var tokenURLRedaction = &redact.Policy{}

// badMember reports whether msg, x/oauth2's parse error, says the answer
// was a JSON object with a member of the wrong kind (a token_type or an
// access_token that is a number, an expires_in that is a word or a bool)
// rather than no JSON object at all: encoding/json names the member
// ("Go struct field tokenJSON.token_type"), and x/oauth2's expires_in
// decoder fails with json.Number's or strconv's error, which only a member
// value gives. An unknown message reads as false (not a token response).
func badMember(msg string) bool {
	return strings.Contains(msg, "Go struct field ") ||
		strings.Contains(msg, "json: invalid number literal") ||
		strings.Contains(msg, "strconv.ParseInt: ")
}

// noAccessTokenError: the token endpoint answered success without an
// access_token. It matches ErrNoToken and ErrMalformedResponse (RFC 6749
// §5.1 requires the member) and unwraps to x/oauth2's error.
type noAccessTokenError struct{ err error }

func (e *noAccessTokenError) Error() string { return "tokens: token request: " + e.err.Error() }
func (e *noAccessTokenError) Unwrap() error { return e.err }
func (e *noAccessTokenError) Is(target error) bool {
	return target == ErrNoToken || target == ErrMalformedResponse
}

// Temporary is false: a token response without an access_token is what
// the endpoint answers this client every time, as for a malformed member
// (see malformedResponseError.Temporary).
func (e *noAccessTokenError) Temporary() bool { return false }

// sourceError is the error of a caller's Source whose message quoted the
// token endpoint's answer through an *oauth2.RetrieveError in its chain
// (a Source built on x/oauth2 without FromOAuth2): msg is that message
// with the RetrieveError's own message (the response body, the error
// description, which may echo credentials) replaced with what a
// *TokenError says (error code, HTTP status), or, when the caller quoted
// the answer in words of its own, that alone. It unwraps to the source's
// error, so errors.Is and errors.As reach it and everything below.
type sourceError struct {
	err error
	msg string
	re  *oauth2.RetrieveError
}

func (e *sourceError) Error() string { return e.msg }
func (e *sourceError) Unwrap() error { return e.err }

// RewriteErrors returns a copy of e over rewrite(e.err) (the redaction of
// a URL in its chain), its message scrubbed again from the rewritten
// error's.
func (e *sourceError) RewriteErrors(rewrite func(error) error) error {
	c := *e
	c.err = rewrite(e.err)
	c.msg, _ = scrubAnswer(c.err.Error(), e.re)
	return &c
}

// RedactSourceError returns err, a token Source's error, with the token
// endpoint's answer that an *oauth2.RetrieveError in its chain quotes (the
// response body and error_description, which some servers fill with the
// client secret or refresh token they were sent) replaced in its message
// with what a *TokenError says of it (error code, HTTP status), and with
// the query values of every *url.Error in its chain (net/http's, which
// quotes the token URL with its query, where a client secret or an API
// key may be) replaced with "REDACTED", the keys, host and path shown.
// errors.Is and errors.As still reach err and everything it wraps, but
// for a wrapper of another type than fmt's and this package's above a
// *url.Error, which is rebuilt (as client.New's error redaction does):
// errors.As no longer finds that wrapper itself, only what it wraps.
// err is returned as it is when its message quotes no such answer and
// holds no *url.Error (this package's own sources return a *TokenError,
// which never quotes it, and redact their *url.Error). A Cache, a
// SourceFunc and the transport auth layer apply it to every source error;
// a caller logging the errors of a Source of its own can apply it too.
func RedactSourceError(err error) error { return redactSourceErr(err) }

// redactSourceErr returns err, a Source's error, with the token
// endpoint's answer that an *oauth2.RetrieveError in its chain quotes
// taken out of its message (see sourceError), and the query values of
// every *url.Error in it redacted (tokenURLRedaction: net/http's
// *url.Error quotes the token URL, query included, where a credential
// may be); err as it is when its message quotes neither (the package's
// own *TokenError, no RetrieveError, no *url.Error).
func redactSourceErr(err error) error {
	if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok && re != nil {
		if msg, changed := scrubAnswer(err.Error(), re); changed {
			err = &sourceError{err: err, msg: msg, re: re}
		}
	}
	// A caller's Source of its own (no FromOAuth2) returns net/http's
	// error as it is. A wrapper type of the caller's above the
	// *url.Error is rebuilt (errors.As no longer finds it, as in
	// client.New); errors.Is and errors.As still reach everything below.
	return tokenURLRedaction.Error(err)
}

// scrubAnswer returns msg with re's message replaced with what a
// *TokenError says of it, or "tokens: token source failed: " and that
// alone when msg quotes re's body, description or URI elsewhere;
// changed is false when msg is returned as it is.
func scrubAnswer(msg string, re *oauth2.RetrieveError) (_ string, changed bool) {
	te := &TokenError{Code: re.ErrorCode, Err: re}
	if re.Response != nil {
		te.StatusCode = re.Response.StatusCode
	}
	teMsg := te.Error()
	out := strings.ReplaceAll(msg, re.Error(), teMsg)
	if quotes(out, string(re.Body)) || quotes(out, re.ErrorDescription) || quotes(out, re.ErrorURI) {
		return "tokens: token source failed: " + teMsg, true
	}
	return out, out != msg
}

// quotes reports whether msg holds s, as it is or as %q writes it.
func quotes(msg, s string) bool {
	if s == "" {
		return false
	}
	q := strconv.Quote(s)
	return strings.Contains(msg, s) || strings.Contains(msg, q[1:len(q)-1])
}

// RefreshError is returned by a Cache when it has no valid token and its
// refresh failed. Err is the source's error (for a backoff, the error of the
// last attempt); Failures counts consecutive failed refreshes; RetryAt is
// the earliest time the Cache will ask its source again. When Backoff is
// true the call did not ask the source at all, and the error also matches
// ErrBackoff.
type RefreshError struct {
	Err      error
	Failures int
	RetryAt  time.Time
	Backoff  bool
}

func (e *RefreshError) Error() string {
	var b strings.Builder
	if e.Backoff {
		b.WriteString("tokens: no valid token; refresh backing off until ")
	} else {
		b.WriteString("tokens: token refresh failed; next attempt not before ")
	}
	b.WriteString(e.RetryAt.UTC().Format(time.RFC3339Nano))
	b.WriteString(" (")
	b.WriteString(strconv.Itoa(e.Failures))
	b.WriteString(" consecutive failures)")
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// RewriteErrors returns a copy of e whose Err is rewrite(e.Err). The
// error redaction of securecall's stack uses it to redact the URL in a
// token request's *url.Error while errors.As still finds the
// *RefreshError.
func (e *RefreshError) RewriteErrors(rewrite func(error) error) error {
	c := *e
	c.Err = rewrite(e.Err)
	return &c
}

func (e *RefreshError) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Backoff {
		errs = append(errs, ErrBackoff)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

func init() { configerr.RegisterZeroCheck(zeroReason) }

// zeroReason returns why v, a value of one of this package's types that
// was not made by its constructor (a zero value such as new(Cache)),
// cannot be used, and "" when it can. NewCache, NewCachedStore, NewChain,
// NewRefresher and the securecall constructors that accept a Source or a
// Store refuse such a value with a *ConfigError. (A zero MemoryStore is
// usable: it is what NewMemoryStore returns.)
func zeroReason(v any) string {
	var ctor string
	switch v := v.(type) {
	case *Cache:
		if v != nil && v.srcSem == nil {
			ctor = "Cache: not made by NewCache"
		}
	case *ClientCredentials:
		if v != nil && v.ep == nil {
			ctor = "ClientCredentials: not made by NewClientCredentials"
		}
	case *Refresher:
		if v != nil && v.sem == nil {
			ctor = "Refresher: not made by NewRefresher"
		}
	case *CachedStore:
		if v != nil && v.s == nil {
			ctor = "CachedStore: not made by NewCachedStore"
		}
	case *Chain:
		if v != nil && len(v.links) == 0 {
			ctor = "Chain: not made by NewChain"
		}
	case *EnvStore:
		if v != nil && v.lookup == nil {
			ctor = "EnvStore: not made by NewEnvStore"
		}
	case *FileStore:
		if v != nil && v.dir == "" {
			ctor = "FileStore: not made by NewFileStore"
		}
	}
	if ctor == "" {
		return ""
	}
	return "a zero tokens." + ctor
}

// unusable returns a *ConfigError naming option when v, a Source or Store
// given to a constructor, is a value of a securecall type not made by its
// constructor (configerr.Unconstructed), or a non-nil interface holding a
// nil pointer (a *FileStore variable never assigned), whose first use
// would panic; nil otherwise.
func unusable(option string, v any) *ConfigError {
	if err := configerr.Unconstructed(option, v); err != nil {
		return err
	}
	if v != nil && configerr.IsNil(v) {
		return configErr(option, "a nil %T", v)
	}
	return nil
}

// storeSourceUnusable returns a *ConfigError naming Source when src is a
// StoreSource over no usable store (nil, a nil pointer, a zero FileStore:
// unusable), which every refresh would fail on; nil otherwise.
func storeSourceUnusable(src Source) *ConfigError {
	ss, ok := src.(storeSource)
	if !ok {
		return nil
	}
	if ss.s == nil {
		return configErr("Source", "StoreSource with a nil store")
	}
	if err := unusable("Source", ss.s); err != nil {
		return configErr("Source", "StoreSource's store: %s", err.Reason)
	}
	return nil
}

// zeroErr returns the *ConfigError the methods of v, a zero value, return
// instead of panicking, hanging or (a zero FileStore) reading and writing
// secrets relative to the working directory.
func zeroErr(v any) error {
	return &ConfigError{Option: strings.TrimPrefix(fmt.Sprintf("%T", v), "*tokens."), Reason: zeroReason(v)}
}
