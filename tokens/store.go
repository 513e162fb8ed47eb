package tokens

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/securecall/securecall/internal/ascii"
	"github.com/securecall/securecall/internal/configerr"
)

// Store holds secrets (client secrets, private keys, refresh tokens, API
// keys) under string keys. Values are bytes. Implementations are safe for
// concurrent use, honour ctx, and report failures as *StoreError values
// that match the package's sentinels: ErrNotFound for a missing key,
// ErrUnavailable / ErrLocked / ErrTimeout when the backend cannot serve,
// ErrTooLarge, ErrReadOnly, ErrInsecureFile, ErrInvalidKey.
//
// Get returns a copy the caller owns (and may clear); Set copies value.
//
// Backends in this module: MemoryStore, EnvStore, FileStore,
// tokens/keyring (the OS keyring); Chain combines them with explicit
// fallbacks, CachedStore keeps what was read in memory.
type Store interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Set(ctx context.Context, key string, value []byte) error
	Delete(ctx context.Context, key string) error
}

// MaxKeyLen is the longest secret key ValidateKey accepts.
const MaxKeyLen = 128

// ValidateKey checks that key can name a secret in every backend: 1 to
// MaxKeyLen characters from [A-Za-z0-9._-], starting with a letter or digit.
// The same key thus works as a keyring entry, a file name and (upper-cased)
// an environment variable. Every Store in this module applies it. Keys
// that differ only in case are distinct in a MemoryStore and a keyring
// on Linux and macOS, but one secret in an EnvStore, in a keyring on
// Windows (the Credential Manager compares target names ignoring case),
// and, on a case-insensitive file system (macOS, Windows), in a
// FileStore: use one spelling per secret.
func ValidateKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return &StoreError{Backend: "key", Op: "check", Key: truncKey(key), Err: ErrInvalidKey}
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return &StoreError{Backend: "key", Op: "check", Key: truncKey(key), Err: ErrInvalidKey}
		}
	}
	return nil
}

func truncKey(k string) string {
	if len(k) > MaxKeyLen {
		return k[:MaxKeyLen] + "…"
	}
	return k
}

// SecretFunc returns a secret when it is needed (a client secret or a
// private key for a token request). It returns a copy the caller may clear.
type SecretFunc func(ctx context.Context) ([]byte, error)

// StaticSecret returns a SecretFunc that returns a copy of b. b is copied
// now, so the caller may clear it afterwards.
func StaticSecret(b []byte) SecretFunc {
	v := append([]byte(nil), b...)
	return func(context.Context) ([]byte, error) { return append([]byte(nil), v...), nil }
}

// FromStore returns a SecretFunc that reads key from s on every call. Wrap a
// slow store (the OS keyring) in a CachedStore first.
//
// The key must not be one that the token request reading the secret
// writes: a Cache's WithPersistence key or a Refresher's refresh token key
// in the same store (s itself, or a CachedStore or Chain reaching it, a
// FileStore over its directory). The access token's JSON, or the rotated
// refresh token, would overwrite the secret (a client secret, a private
// key), and the next token request would send it. A SecretFunc cannot be
// checked in NewCache or NewRefresher: the read fails with a *ConfigError
// naming WithPersistence (or key, for the Refresher) and the key, before
// the token request is sent and anything is written. A nil s (or one
// holding a nil pointer) fails the read with a *ConfigError naming
// FromStore.
func FromStore(s Store, key string) SecretFunc {
	return func(ctx context.Context) ([]byte, error) {
		if err := nilStore("FromStore", s); err != nil {
			return nil, err
		}
		if err := checkWriteTargets(ctx, s, key); err != nil {
			return nil, err
		}
		return s.Get(ctx, key)
	}
}

// nilStore returns a *ConfigError naming option when s is no store: nil,
// or an interface holding a nil pointer (a *FileStore variable never
// assigned), whose Get would panic. StoreSource and FromStore, which
// return no error, check their store so when they read it.
func nilStore(option string, s Store) *ConfigError {
	if configerr.IsNil(s) {
		return configErr(option, "a nil store (%T)", s)
	}
	return nil
}

// writeTarget is a context value: a store and key the work running on the
// context (a Cache's refresh, a Refresher's refresh) writes, so that a
// secret read under the same key (FromStore) is refused before it would
// be overwritten. next is the target of an enclosing refresh (a Cache
// over a Refresher).
type writeTarget struct {
	store  Store
	key    string
	option string // the option naming the key, for the *ConfigError
	what   string // what is written there
	next   *writeTarget
}

type writeTargetKey struct{}

// withWriteTarget returns ctx carrying (s, key) as a key its refresh
// writes; option and what name it in the error.
func withWriteTarget(ctx context.Context, s Store, key, option, what string) context.Context {
	next, _ := ctx.Value(writeTargetKey{}).(*writeTarget)
	return context.WithValue(ctx, writeTargetKey{}, &writeTarget{store: s, key: key, option: option, what: what, next: next})
}

// checkWriteTargets returns a *ConfigError when key in s is one that the
// refresh running on ctx writes (see FromStore).
func checkWriteTargets(ctx context.Context, s Store, key string) error {
	for t, _ := ctx.Value(writeTargetKey{}).(*writeTarget); t != nil; t = t.next {
		if mayShareKey(s, key, t.store, t.key) {
			return configErr(t.option, "key %q holds a secret this token request reads (FromStore), and %s under key %q in the same store would overwrite it (keys differing only in case name one secret in a FileStore on macOS and Windows and in a keyring on Windows); keep them under different keys", key, t.what, t.key)
		}
	}
	return nil
}

// StoreSource returns a Source whose token is the secret under key in s,
// with type typ ("" for an API key sent as is, "Bearer" for a static bearer
// token) and no expiry. It reads s on every call: put a Cache in front of it
// (NewCache) so the hot path does not touch the store, and Invalidate the
// cached token to pick up a rotated secret.
//
// A secret no header can carry is no token: one with a control character
// (the trailing newline of a value provisioned with echo; see FileStore's
// WithTrimNewline), or, for typ "Bearer", one a bearer header cannot carry
// (space, comma, quote, backslash, non-ASCII character). Token returns an
// error naming the key, never the value, matching ErrMalformedToken and
// ErrNoToken, and reads the store again on the next call. An empty secret
// is ErrNoToken.
//
// A Cache over it must not persist its token (WithPersistence) under the
// same key in the same store: the token's JSON would overwrite the secret,
// and the next read would send it. NewCache refuses that with a
// *ConfigError naming WithPersistence, and a nil store (or one holding a
// nil pointer: a *FileStore never assigned) with one naming Source;
// Token returns one naming StoreSource for such a store.
func StoreSource(s Store, key, typ string) Source {
	return storeSource{s: s, key: key, typ: typ}
}

// storeSource is StoreSource's Source.
type storeSource struct {
	s        Store
	key, typ string
}

// Token reads the secret under the key (see StoreSource).
func (ss storeSource) Token(ctx context.Context) (Token, error) {
	if err := nilStore("StoreSource", ss.s); err != nil {
		return Token{}, err
	}
	b, err := ss.s.Get(ctx, ss.key)
	if err != nil {
		return Token{}, err
	}
	defer clear(b)
	if len(b) == 0 {
		return Token{}, &StoreError{Backend: "source", Op: "get", Key: ss.key, Err: ErrNoToken}
	}
	// net/http refuses a header value with a control character, so
	// every call would fail with its error, which names neither the
	// key nor the cause. The value is not quoted: it is the secret.
	if ascii.HasCTL(string(b)) {
		return Token{}, &StoreError{Backend: "source", Op: "get", Key: ss.key, Err: noTokenError{ErrMalformedToken},
			Cause: errors.New("the stored value has a control character (a trailing newline?), which no header carries")}
	}
	if strings.EqualFold(ss.typ, "Bearer") && checkAccessToken(string(b)) != nil {
		return Token{}, &StoreError{Backend: "source", Op: "get", Key: ss.key, Err: noTokenError{ErrMalformedToken},
			Cause: errors.New("the stored value has a character a bearer header cannot carry (space, comma, quote, backslash, non-ASCII; RFC 6750 §2.1)")}
	}
	return NewToken(string(b), ss.typ, time.Time{}), nil
}

// MemoryStore is a Store in process memory, safe for concurrent use (and
// for parallel tests, unlike go-keyring's mock). The zero value is ready to
// use.
type MemoryStore struct {
	mu sync.RWMutex
	m  map[string][]byte
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// Get returns a copy of the value under key.
func (s *MemoryStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := s.check(ctx, "get", key); err != nil {
		return nil, err
	}
	// Copied under the lock: Set and Delete clear the old bytes.
	s.mu.RLock()
	v, ok := s.m[key]
	if ok {
		v = append([]byte(nil), v...)
	}
	s.mu.RUnlock()
	if !ok {
		return nil, &StoreError{Backend: "memory", Op: "get", Key: key, Err: ErrNotFound}
	}
	return v, nil
}

// Set stores a copy of value under key.
func (s *MemoryStore) Set(ctx context.Context, key string, value []byte) error {
	if err := s.check(ctx, "set", key); err != nil {
		return err
	}
	v := append(make([]byte, 0, len(value)), value...)
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[string][]byte)
	}
	if old, ok := s.m[key]; ok {
		clear(old)
	}
	s.m[key] = v
	s.mu.Unlock()
	return nil
}

// Delete removes key; a missing key is ErrNotFound.
func (s *MemoryStore) Delete(ctx context.Context, key string) error {
	if err := s.check(ctx, "delete", key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.m[key]
	if !ok {
		return &StoreError{Backend: "memory", Op: "delete", Key: key, Err: ErrNotFound}
	}
	clear(old)
	delete(s.m, key)
	return nil
}

// Keys returns the stored keys in no particular order.
func (s *MemoryStore) Keys() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.m))
	for k := range s.m {
		out = append(out, k)
	}
	return out
}

func (s *MemoryStore) check(ctx context.Context, op, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return &StoreError{Backend: "memory", Op: op, Key: key, Cause: err}
	}
	return nil
}
