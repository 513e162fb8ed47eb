package tokens

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
)

// The types below keep secrets in memory (a Refresher its current refresh
// token, a CachedStore and a MemoryStore the values they hold). fmt prints
// a pointer to a struct field by field, maps included, with every verb
// (and a slog text handler prints an attribute with %+v): a caller who
// logs its token source or store while debugging would log the secrets.
// Each implements fmt.Formatter and slog.LogValuer to print a
// description only, as Token and signer.Key do, and as the ClientAuth of
// PrivateKeyJWT does for its key (jwtAuth in clientauth.go).

// Format implements fmt.Formatter: every verb prints the store key only.
func (r *Refresher) Format(f fmt.State, _ rune) {
	if r == nil {
		_, _ = io.WriteString(f, "tokens.Refresher(nil)")
		return
	}
	_, _ = io.WriteString(f, "tokens.Refresher{key="+strconv.Quote(r.key)+"}")
}

// LogValue implements slog.LogValuer: the store key only.
func (r *Refresher) LogValue() slog.Value {
	if r == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.String("key", r.key))
}

// Format implements fmt.Formatter: every verb prints the type only, never
// a cached value.
func (c *CachedStore) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, "tokens.CachedStore{}")
}

// LogValue implements slog.LogValuer: no cached value.
func (c *CachedStore) LogValue() slog.Value { return slog.StringValue("tokens.CachedStore{}") }

// Format implements fmt.Formatter: every verb prints the type only, never
// a stored value.
func (s *MemoryStore) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, "tokens.MemoryStore{}")
}

// LogValue implements slog.LogValuer: no stored value.
func (s *MemoryStore) LogValue() slog.Value { return slog.StringValue("tokens.MemoryStore{}") }

// Format implements fmt.Formatter: every verb prints the fields that are
// not the key (KeyID, Algorithm, Audience, Lifetime) and whether Key or
// Signer is set, never the key itself. An ed25519.PrivateKey given as
// Signer is a byte slice, which fmt would print, seed included, from a
// config logged while debugging.
func (c PrivateKeyJWTConfig) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, c.describe())
}

// LogValue implements slog.LogValuer: as Format.
func (c PrivateKeyJWTConfig) LogValue() slog.Value { return slog.StringValue(c.describe()) }

func (c PrivateKeyJWTConfig) describe() string {
	var b strings.Builder
	b.WriteString("tokens.PrivateKeyJWTConfig{")
	switch {
	case c.Key != nil && c.Signer != nil:
		b.WriteString("Key and Signer set")
	case c.Key != nil:
		b.WriteString("Key set")
	case c.Signer != nil:
		b.WriteString("Signer " + fmt.Sprintf("%T", c.Signer))
	default:
		b.WriteString("no key")
	}
	b.WriteString(", KeyID=" + strconv.Quote(c.KeyID))
	if c.Algorithm != "" {
		b.WriteString(", Algorithm=" + strconv.Quote(c.Algorithm))
	}
	if c.Audience != "" {
		b.WriteString(", Audience=" + strconv.Quote(c.Audience))
	}
	if c.Lifetime != 0 {
		b.WriteString(", Lifetime=" + c.Lifetime.String())
	}
	b.WriteByte('}')
	return b.String()
}

// Format implements fmt.Formatter: every verb prints the key and type
// only, never the store (a Store of the caller's may print its values).
func (ss storeSource) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, "tokens.StoreSource{key="+strconv.Quote(ss.key)+" type="+strconv.Quote(ss.typ)+"}")
}

// LogValue implements slog.LogValuer: as Format.
func (ss storeSource) LogValue() slog.Value {
	return slog.GroupValue(slog.String("key", ss.key), slog.String("type", ss.typ))
}
