package tokens

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/securecall/securecall/internal/ascii"
)

// persisted is the stored form of a cached token. It is separate from Token,
// whose JSON form is redacted on purpose.
type persisted struct {
	Value  string    `json:"value"`
	Type   string    `json:"type,omitempty"`
	Expiry time.Time `json:"expiry,omitzero"`
	// For is the digest of what the source asked for the token with
	// (sourceIdentity), when it has one.
	For string `json:"for,omitempty"`
}

// identified is implemented by the sources whose tokens are bound to a
// configuration (ClientCredentials, Refresher): persistFor returns a digest
// of it, so that a restart with another (other scopes, another audience,
// client or token endpoint) does not load a token issued for the old one.
type identified interface{ persistFor() string }

// digest returns the first 128 bits of the SHA-256 of parts, in hex, each
// part length-prefixed so that no two lists of parts give one input. It
// tells configurations apart, no more (a keyring on macOS holds about
// 3 KB: the persisted token stays small).
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func (c *ClientCredentials) persistFor() string {
	if c.ep == nil {
		return ""
	}
	cfg := c.ep.cfg
	return digest("client_credentials", cfg.TokenURL, cfg.ClientID, strings.Join(cfg.Scopes, " "), cfg.EndpointParams.Encode())
}

func (r *Refresher) persistFor() string {
	if r.ep == nil {
		return ""
	}
	return digest("refresh_token", r.ep.cfg.TokenURL, r.ep.cfg.ClientID, r.key)
}

// grantBound is implemented by the sources whose tokens are bound to a
// grant that may change under one configuration (Refresher: the refresh
// token in its store, which an operator may re-provision with another
// user's or another consent's). issuedGrant returns a digest of the grant
// the source's last token was issued under ("" when none); storedGrant one
// of the grant its store holds now, which a token read back must have been
// issued under.
type grantBound interface {
	issuedGrant() string
	storedGrant(ctx context.Context) (string, error)
}

// grantDigest returns the digest of a Refresher's grant: its refresh
// token (which a rotation replaces with the grant's next one).
func grantDigest(rt string) string { return digest("refresh_token value", rt) }

func (r *Refresher) issuedGrant() string {
	if g := r.issued.Load(); g != nil {
		return *g
	}
	return ""
}

// storedGrant reads the refresh token the Refresher's first refresh would
// read, and returns its grantDigest.
func (r *Refresher) storedGrant(ctx context.Context) (string, error) {
	if r.store == nil {
		return "", zeroErr(r)
	}
	// On the Cache's refreshing goroutine, where no caller's recover
	// reaches: a panic in the store is a failed read.
	b, err := storeGet(ctx, r.store, r.key)
	if err != nil {
		return "", err
	}
	defer clear(b)
	return grantDigest(string(b)), nil
}

// persistForGrant is what a token issued under grant (grantBound; "" for
// a source without one) is persisted for.
func (c *Cache) persistForGrant(grant string) string {
	if grant == "" || c.persistFor == "" {
		return c.persistFor
	}
	return digest(c.persistFor, grant)
}

func (c *Cache) save(ctx context.Context, tok Token, grant string) error {
	b, err := json.Marshal(persisted{Value: tok.Value(), Type: tok.Type(), Expiry: tok.Expiry().Round(0), For: c.persistForGrant(grant)})
	if err != nil {
		return fmt.Errorf("tokens: persist token: %w", err)
	}
	defer clear(b)
	return storeSet(ctx, c.cfg.store, c.cfg.storeKey, b)
}

// drop deletes the persisted token (an invalidated one); a missing entry is
// not an error.
func (c *Cache) drop(ctx context.Context) error {
	if err := storeDelete(ctx, c.cfg.store, c.cfg.storeKey); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("tokens: delete invalidated persisted token: %w", err)
	}
	return nil
}

func (c *Cache) load(ctx context.Context) (Token, error) {
	b, err := storeGet(ctx, c.cfg.store, c.cfg.storeKey)
	if err != nil {
		return Token{}, err
	}
	defer clear(b)
	var p persisted
	if err := json.Unmarshal(b, &p); err != nil {
		// The JSON error may quote a byte of the value, so it is not wrapped.
		return Token{}, fmt.Errorf("tokens: persisted token under %q is not valid JSON: %w", c.cfg.storeKey, ErrNoToken)
	}
	if p.Value == "" {
		return Token{}, fmt.Errorf("tokens: persisted token under %q has no value: %w", c.cfg.storeKey, ErrNoToken)
	}
	if reason, err := c.checkPersisted(p); err != nil {
		// Neither the value nor the type is quoted: either may be the
		// secret, or hold what a log line must not.
		return Token{}, fmt.Errorf("tokens: persisted token under %q %s, so it is not used: %w", c.cfg.storeKey, reason, noTokenError{err})
	}
	want := c.persistFor
	if g, ok := c.src.(grantBound); ok && want != "" && p.For != "" {
		// A Refresher's token was issued under the refresh token it
		// held then: the store must hold that one still (or none was
		// re-provisioned since).
		grant, err := g.storedGrant(ctx)
		if err != nil {
			// Which grant the store holds is not known: the source is
			// asked, and reports the failed read itself.
			return Token{}, fmt.Errorf("tokens: persisted token under %q not used: its grant could not be read: %w", c.cfg.storeKey, ErrNotFound)
		}
		want = c.persistForGrant(grant)
	}
	if p.For != want {
		// Issued for another configuration (other scopes, audience,
		// client or token endpoint: a deploy changed them) or another
		// grant (a refresh token re-provisioned), or persisted by a
		// version that did not say: not this source's token. As if
		// none were stored; the new token replaces it.
		return Token{}, fmt.Errorf("tokens: persisted token under %q was issued for another configuration or grant: %w", c.cfg.storeKey, ErrNotFound)
	}
	return NewToken(p.Value, p.Type, p.Expiry), nil
}

// bearerSource is implemented by the sources that issue Bearer tokens
// only, each checked as bearerToken does: ClientCredentials, Refresher
// and FromOAuth2's.
type bearerSource interface{ bearerOnly() }

func (*ClientCredentials) bearerOnly() {}
func (*Refresher) bearerOnly()         {}
func (oauth2Source) bearerOnly()       {}

// checkPersisted says why p, a token read back from the store, is not one
// to send, with ErrUnsupportedTokenType or ErrMalformedToken, or returns a
// nil error: the store may hold what the Cache never wrote (a value
// provisioned by hand, another program's, a corrupted or tampered file),
// and the token goes into a header as it is, where a CR/LF fails every
// request (net/http refuses the header) until the token expires. It makes
// the checks a fetched token passes: a source that issues Bearer tokens
// only gets a Bearer token, and a Bearer token's value is one a bearer
// header can carry (checkAccessToken); any other type is a token (RFC
// 9110 §5.6.2) and its value has no control character.
func (c *Cache) checkPersisted(p persisted) (string, error) {
	bearer := strings.EqualFold(p.Type, "Bearer")
	if _, ok := c.src.(bearerSource); ok && !bearer {
		return "is not a Bearer token, the only type its source issues", ErrUnsupportedTokenType
	}
	if p.Type != "" && !ascii.IsToken(p.Type) {
		return "has a token type a header cannot carry", ErrMalformedToken
	}
	if bearer && checkAccessToken(p.Value) != nil || ascii.HasCTL(p.Value) {
		return "has a value a header cannot carry (space, comma, quote, control or non-ASCII character)", ErrMalformedToken
	}
	return "", nil
}

// noTokenError is err (ErrUnsupportedTokenType, ErrMalformedToken)
// matching ErrNoToken too, as a fetched token refused for it does.
type noTokenError struct{ err error }

func (e noTokenError) Error() string   { return e.err.Error() }
func (e noTokenError) Unwrap() []error { return []error{e.err, ErrNoToken} }

// mayShareKey reports whether key ka of a and key kb of b may name one
// secret: a and b may write the same secrets (a store, or a CachedStore
// or Chain over it, reaches the other's store, a FileStore over the
// other's directory, or a store naming the other's keyring service:
// keyring.Store's Service, of the same type), and the keys are equal, or,
// in a FileStore or a keyring, equal but for case: on a case-insensitive
// file system (macOS, Windows) they name one file, in Windows' Credential
// Manager (whose target names, "service:key", compare ignoring case) one
// item, and a store that works on a case-sensitive system alone is a trap
// when it moves.
func mayShareKey(a Store, ka string, b Store, kb string) bool {
	if ka != kb && !strings.EqualFold(ka, kb) {
		return false
	}
	for _, x := range storeLeaves(a, nil) {
		for _, y := range storeLeaves(b, nil) {
			if !sameStore(x, y) {
				continue
			}
			if ka == kb || foldsCase(x) {
				return true
			}
		}
	}
	return false
}

// namedStore is a store naming a keyring service (keyring.Store).
type namedStore interface{ Service() string }

// foldsCase reports whether s's keys that differ only in case may name
// one secret on some system: a FileStore's (a case-insensitive file
// system), a keyring's (Windows' Credential Manager).
func foldsCase(s Store) bool {
	switch s.(type) {
	case *FileStore, namedStore:
		return true
	}
	return false
}

// readOnly reports whether no Set of s can succeed: an EnvStore, or a
// CachedStore over one, or a Chain whose primary backend (which every Set
// writes first, failing when it fails) is one.
func readOnly(s Store) bool {
	switch st := s.(type) {
	case *EnvStore:
		return true
	case *CachedStore:
		return st.s != nil && readOnly(st.s)
	case *Chain:
		return len(st.links) > 0 && readOnly(st.links[0].Store)
	}
	return false
}

// storeLeaves appends the stores s writes through: s itself, or a
// CachedStore's backend, or each backend of a Chain (a Set reaches every
// fallback that holds the key).
func storeLeaves(s Store, out []Store) []Store {
	switch st := s.(type) {
	case *CachedStore:
		if st.s != nil {
			return storeLeaves(st.s, out)
		}
	case *Chain:
		for _, l := range st.links {
			out = storeLeaves(l.Store, out)
		}
		return out
	}
	return append(out, s)
}

// sameStore reports whether a and b are one store: equal values, FileStores
// over one directory (see sameDir), or stores of one type naming one
// service (ignoring case, as Windows' Credential Manager does).
func sameStore(a, b Store) (same bool) {
	defer func() {
		if recover() != nil {
			same = false // a store type whose values == cannot compare
		}
	}()
	if a == b {
		return true
	}
	if fa, ok := a.(*FileStore); ok {
		fb, ok := b.(*FileStore)
		return ok && fa.dir != "" && sameDir(fa.dir, fb.dir)
	}
	na, ok1 := a.(namedStore)
	nb, ok2 := b.(namedStore)
	// Services differing only in case are one in Windows' Credential
	// Manager (the target "service:key").
	return ok1 && ok2 && reflect.TypeOf(a) == reflect.TypeOf(b) && strings.EqualFold(na.Service(), nb.Service())
}

// sameDir reports whether the directories a and b (absolute paths) are
// one: the same path, or two paths to one directory (a symlink in either,
// a bind mount, another spelling on a case-insensitive file system),
// whose files are the same. A directory that does not exist yet (a
// FileStore makes it on its first Set) is compared by its path.
func sameDir(a, b string) bool {
	if a == b {
		return true
	}
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
