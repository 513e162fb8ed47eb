package tokens

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unsafe"
)

// redacted replaces a secret wherever a Token or a secret would be printed.
const redacted = "[REDACTED]"

// Token is a credential with an optional expiry: an OAuth2 access token, an
// API key, a static bearer token.
//
// A Token never prints its value: String, GoString, Format (every fmt verb,
// %v, %+v, %#v, %s, %q, %x and the rest), LogValue (log/slog), MarshalText and
// MarshalJSON all write "[REDACTED]" in its place. The value is kept behind an
// unsafe.Pointer, which fmt always prints as an address, so even a struct
// that holds a Token in an unexported field (where fmt cannot call the
// Token's methods and walks its fields by reflection instead) prints an
// address, not the value. Read the value with Value, or put it on a request
// with HeaderValue.
//
// The zero Token has no value. Token is a small value type (a pointer and a
// time.Time) that is cheap to copy; copies share the value.
type Token struct {
	// p points to a tokenSecret (or is nil). It is an unsafe.Pointer only so
	// that reflection-based printing shows an address; it is never
	// converted to anything else.
	p      unsafe.Pointer
	expiry time.Time
}

type tokenSecret struct {
	value  string
	typ    string
	header string // typ + " " + value, computed once so requests do not concatenate
}

// NewToken returns a Token with the given value, type ("Bearer", "DPoP",
// or "" for an API key that is sent as is) and expiry. A zero expiry means
// the token does not expire.
func NewToken(value, typ string, expiry time.Time) Token {
	if value == "" {
		return Token{}
	}
	s := &tokenSecret{value: value, typ: typ, header: value}
	if typ != "" {
		s.header = typ + " " + value
	}
	return Token{p: unsafe.Pointer(s), expiry: expiry}
}

// sec returns the token's secret part, or nil.
func (t Token) sec() *tokenSecret { return (*tokenSecret)(t.p) }

// Value returns the secret value. Avoid passing it anywhere it could be
// logged.
func (t Token) Value() string {
	if s := t.sec(); s != nil {
		return s.value
	}
	return ""
}

// Type returns the token type given to NewToken ("Bearer" for OAuth2 access
// tokens), or "" for a bare API key.
func (t Token) Type() string {
	if s := t.sec(); s != nil {
		return s.typ
	}
	return ""
}

// HeaderValue returns the value for an Authorization header: "<Type>
// <Value>", or just the value when the type is empty. It is computed once,
// when the Token is made, so calling it does not allocate.
func (t Token) HeaderValue() string {
	if s := t.sec(); s != nil {
		return s.header
	}
	return ""
}

// Expiry returns when the token expires; the zero time means never.
func (t Token) Expiry() time.Time { return t.expiry }

// IsZero reports whether t has no value.
func (t Token) IsZero() bool { return t.p == nil }

// ExpiredAt reports whether t has expired at now. A token without expiry
// never expires; the zero Token is always expired.
func (t Token) ExpiredAt(now time.Time) bool {
	if t.p == nil {
		return true
	}
	return !t.expiry.IsZero() && !now.Before(t.expiry)
}

// Equal reports whether t and u carry the same value. Invalidate uses it to
// drop exactly the token a server rejected.
func (t Token) Equal(u Token) bool {
	if t.p == u.p {
		return true
	}
	return t.p != nil && u.p != nil && t.sec().value == u.sec().value
}

// String describes t without its value, for example
// "Bearer [REDACTED] (expires 2026-01-02T15:04:05Z)".
func (t Token) String() string {
	s := t.sec()
	if s == nil {
		return "<no token>"
	}
	var b strings.Builder
	if s.typ != "" {
		b.WriteString(s.typ)
		b.WriteByte(' ')
	}
	b.WriteString(redacted)
	if t.expiry.IsZero() {
		b.WriteString(" (no expiry)")
	} else {
		b.WriteString(" (expires ")
		b.WriteString(t.expiry.UTC().Format(time.RFC3339))
		b.WriteByte(')')
	}
	return b.String()
}

// GoString is used by %#v; it shows the type and expiry, never the value.
func (t Token) GoString() string {
	if t.p == nil {
		return "tokens.Token{}"
	}
	return fmt.Sprintf("tokens.Token{Type:%q, Expiry:%q, Value:%q}", t.Type(), t.expiry.UTC().Format(time.RFC3339), redacted)
}

// Format implements fmt.Formatter so that every verb prints the redacted
// form: %#v uses GoString, every other verb String.
func (t Token) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, t.GoString())
		return
	}
	fmt.Fprint(f, t.String())
}

// LogValue implements slog.LogValuer: a group with the type, the expiry and
// a redacted value.
func (t Token) LogValue() slog.Value {
	if t.p == nil {
		return slog.GroupValue()
	}
	attrs := []slog.Attr{slog.String("type", t.Type())}
	if !t.expiry.IsZero() {
		attrs = append(attrs, slog.Time("expiry", t.expiry))
	}
	attrs = append(attrs, slog.String("value", redacted))
	return slog.GroupValue(attrs...)
}

// MarshalText implements encoding.TextMarshaler with the redacted form, so
// that a Token marshalled by accident (a config dump) leaks nothing.
func (t Token) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// MarshalJSON implements json.Marshaler with the redacted form, as a JSON
// string.
func (t Token) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, "%q", t.String()), nil
}

// Source supplies tokens. Implementations are safe for concurrent use.
// Token returns a token that is valid now, or an error; it honours ctx for
// cancellation and values.
type Source interface {
	Token(ctx context.Context) (Token, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context) (Token, error)

// Token calls f(ctx). When f's error holds an *oauth2.RetrieveError (a
// function built on x/oauth2 without FromOAuth2), whose message quotes the
// token endpoint's answer (body, error_description, error_uri: they may
// echo the client secret or the refresh token), that answer is replaced
// in the message with what a *TokenError says (error code, HTTP status),
// as a Cache does; errors.Is and errors.As still reach f's error and the
// *oauth2.RetrieveError. The query values of a *url.Error in f's error
// (net/http's, quoting the token URL) are redacted too, as
// RedactSourceError says. So a SourceFunc used without a Cache (as a
// transport.AuthConfig Source) puts neither in its error.
func (f SourceFunc) Token(ctx context.Context) (Token, error) {
	t, err := f(ctx)
	if err != nil {
		err = redactSourceErr(err)
	}
	return t, err
}

// Invalidator is implemented by caching sources (Cache) that can drop a
// token a server rejected. Invalidate drops t if, and only if, it is the
// token currently cached, and reports whether it did; a newer token is kept.
type Invalidator interface {
	Invalidate(t Token) bool
}

// Static returns a Source that always returns t, for API keys and fixed
// bearer tokens. It fails with ErrNoToken when t is the zero Token.
func Static(t Token) Source { return staticSource{t} }

type staticSource struct{ t Token }

func (s staticSource) Token(context.Context) (Token, error) {
	if s.t.IsZero() {
		return Token{}, ErrNoToken
	}
	return s.t, nil
}

// CachedToken returns t at once (a static source never waits); false for
// the zero Token, which Token reports as ErrNoToken.
func (s staticSource) CachedToken(context.Context) (Token, bool) { return s.t, !s.t.IsZero() }
