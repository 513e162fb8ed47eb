package tokens

import (
	"context"
	"errors"
	"strconv"
	"strings"
)

// Backend is a named Store in a Chain. The name ("keyring", "file", "env")
// is what Chain.Lookup reports as the backend that served a secret.
type Backend struct {
	Name  string
	Store Store
}

// FallbackWhen lists the failures of the backend before a fallback on which
// a Chain moves on to that fallback. Combine with |.
type FallbackWhen uint8

const (
	// WhenNotFound: the previous backend has no secret under the key.
	WhenNotFound FallbackWhen = 1 << iota
	// WhenUnavailable: the previous backend could not serve (no service,
	// locked, timed out; see IsUnavailable). Falling back on this is how a
	// service ends up reading a secret from a weaker store when the
	// keyring is down, so it is never implied: say it.
	WhenUnavailable
)

// ChainOption configures NewChain.
type ChainOption interface{ applyChain(*Chain) }

type chainOptionFunc func(*Chain)

func (f chainOptionFunc) applyChain(c *Chain) { f(c) }

// Fallback appends b to the chain, consulted only when the backend before
// it failed in one of the ways when lists.
func Fallback(b Backend, when FallbackWhen) ChainOption {
	return chainOptionFunc(func(c *Chain) { c.links = append(c.links, link{Backend: b, when: when}) })
}

// WithOnServe sets a function called after every successful Get or Lookup
// with the key and the name of the backend that served it, to log or count
// fallbacks. It must not block. Default: none.
func WithOnServe(f func(key, backend string)) ChainOption {
	return chainOptionFunc(func(c *Chain) { c.onServe = f })
}

type link struct {
	Backend
	when FallbackWhen
}

// Chain is a Store that reads from a primary backend and from explicitly
// configured fallbacks, in order, and reports which backend served each
// secret. A fallback is consulted only when the backend before it failed in
// a way the fallback was configured for: by default nothing falls back, and
// in particular an unavailable or locked keyring never silently gives way to
// a file or the environment unless WhenUnavailable says so. Any other error
// (bad permissions on a secret file, a value too large) stops the lookup.
//
// Set and Delete act on the primary backend and on every fallback that
// already holds the key (so a rotated refresh token leaves no stale copy
// that a later fallback read would present, tripping the server's reuse
// detection): a Chain never creates a secret in a weaker store. A fallback
// with a Refresh method (a CachedStore, a Chain) is checked with it, past
// its cache. The primary goes first; when it fails, its error is returned
// and no fallback is touched, unless the error says the new value is
// stored all the same: one matching ErrStaleCopy (an old copy may remain
// beside it), or a *ChainError with Op "set" from a Chain as the primary
// (its own primary took it). The fallbacks holding the key are then
// updated as after a success, and the primary's error is returned, or,
// when a fallback failed too, a *ChainError with Op "set" whose first
// entry is the primary's. A fallback that holds the key but could not be
// updated (a read-only environment variable) or could not be checked (its
// Get failed with anything but ErrNotFound: a locked or unavailable
// keyring, an insecure file) is reported in a *ChainError with Op "set"
// or "delete": the primary has the change, the listed backends may still
// hold the old value. A Refresher over the Chain takes that error for a
// persisted rotated refresh token: it serves the access token and reports
// the error (see Refresher).
type Chain struct {
	links   []link
	onServe func(key, backend string)
}

// NewChain returns a Chain with the given primary backend and fallbacks.
func NewChain(primary Backend, opts ...ChainOption) (*Chain, error) {
	c := &Chain{links: []link{{Backend: primary}}}
	for _, o := range opts {
		if o != nil {
			o.applyChain(c)
		}
	}
	seen := map[string]bool{}
	for i, l := range c.links {
		field := "primary"
		if i > 0 {
			field = "Fallback[" + strconv.Itoa(i-1) + "]"
		}
		switch {
		case l.Name == "":
			return nil, configErr(field, "backend without a name")
		case l.Store == nil:
			return nil, configErr(field, "backend %q has a nil store", l.Name)
		case unusable(field, l.Store) != nil:
			return nil, configErr(field, "backend %q: %s", l.Name, unusable(field, l.Store).Reason)
		case seen[l.Name]:
			return nil, configErr(field, "duplicate backend name %q", l.Name)
		case i > 0 && l.when&(WhenNotFound|WhenUnavailable) == 0:
			return nil, configErr(field, "backend %q: no condition (WhenNotFound, WhenUnavailable)", l.Name)
		}
		seen[l.Name] = true
	}
	return c, nil
}

// Lookup returns the secret under key and the name of the backend that
// served it.
func (c *Chain) Lookup(ctx context.Context, key string) ([]byte, string, error) {
	return c.lookup(ctx, key, false)
}

// Refresh is Get past any cache: each backend it consults, under the same
// fallback rules as Get, is read with its Store's Refresh method when it
// has one (a CachedStore, a Chain), so a secret changed behind a cache (a
// refresh token another process re-provisioned) is seen. A Refresher over
// the Chain uses it to re-read its refresh token after invalid_grant.
func (c *Chain) Refresh(ctx context.Context, key string) ([]byte, error) {
	v, _, err := c.lookup(ctx, key, true)
	return v, err
}

func (c *Chain) lookup(ctx context.Context, key string, refresh bool) ([]byte, string, error) {
	if len(c.links) == 0 {
		return nil, "", zeroErr(c)
	}
	var errs []error
	var names []string
	for i, l := range c.links {
		if i > 0 && !l.when.matches(errs[len(errs)-1]) {
			break
		}
		get := l.Store.Get
		if rs, ok := l.Store.(storeRefresher); ok && refresh {
			get = rs.Refresh
		}
		v, err := get(ctx, key)
		if err == nil {
			if c.onServe != nil {
				c.onServe(key, l.Name)
			}
			return v, l.Name, nil
		}
		errs = append(errs, err)
		names = append(names, l.Name)
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 1 {
		return nil, "", errs[0]
	}
	return nil, "", &ChainError{Key: key, Backends: names, Errs: errs}
}

func (w FallbackWhen) matches(err error) bool {
	return w&WhenNotFound != 0 && errors.Is(err, ErrNotFound) ||
		w&WhenUnavailable != 0 && IsUnavailable(err)
}

// Get returns the secret under key from the first backend that has it,
// following the configured fallbacks.
func (c *Chain) Get(ctx context.Context, key string) ([]byte, error) {
	v, _, err := c.Lookup(ctx, key)
	return v, err
}

// Set writes to the primary backend, then to every fallback that holds
// key (see Chain). A fallback without key is left alone.
func (c *Chain) Set(ctx context.Context, key string, value []byte) error {
	if len(c.links) == 0 {
		return zeroErr(c)
	}
	perr := c.links[0].Store.Set(ctx, key, value)
	if perr != nil && !storedDespite(perr) {
		return perr
	}
	// The primary holds the new value (perr, if any, says an old copy may
	// remain beside it, or, from a Chain, in one of its fallbacks): the
	// fallbacks must not keep the old one either.
	_, err := c.holders(ctx, "set", key, func(s Store) error { return s.Set(ctx, key, value) })
	if perr == nil {
		return err
	}
	var ce *ChainError
	if !errors.As(err, &ce) {
		return perr
	}
	ce.Backends = append([]string{c.links[0].Name}, ce.Backends...)
	ce.Errs = append([]error{perr}, ce.Errs...)
	ce.unchecked = append([]bool{false}, ce.unchecked...)
	ce.primary = true
	return ce
}

// Delete deletes key from the primary backend, then from every fallback
// that holds it (see Chain), so that no fallback serves a deleted secret.
// It returns the primary's ErrNotFound only when no backend held key.
func (c *Chain) Delete(ctx context.Context, key string) error {
	if len(c.links) == 0 {
		return zeroErr(c)
	}
	perr := c.links[0].Store.Delete(ctx, key)
	if perr != nil && !errors.Is(perr, ErrNotFound) {
		return perr
	}
	n, err := c.holders(ctx, "delete", key, func(s Store) error { return s.Delete(ctx, key) })
	if err == nil && n == 0 && perr != nil {
		return perr
	}
	return err
}

// holders applies op to every fallback that holds key and returns how many
// it changed, and a *ChainError listing the fallbacks that hold (or may
// hold) key and were not changed.
func (c *Chain) holders(ctx context.Context, opName, key string, op func(Store) error) (int, error) {
	var names []string
	var errs []error
	var unchecked []bool
	n := 0
	for _, l := range c.links[1:] {
		// Past a cache: a CachedStore would answer from memory for a
		// secret its backend no longer holds.
		get := l.Store.Get
		if rs, ok := l.Store.(storeRefresher); ok {
			get = rs.Refresh
		}
		v, err := get(ctx, key)
		clear(v)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		checked := err == nil
		if checked {
			if err = op(l.Store); err == nil {
				n++
				continue
			}
		}
		names = append(names, l.Name)
		errs = append(errs, err)
		unchecked = append(unchecked, !checked)
	}
	if len(errs) == 0 {
		return n, nil
	}
	return n, &ChainError{Op: opName, Key: key, Backends: names, Errs: errs, unchecked: unchecked}
}

// Backends returns the backend names in lookup order.
func (c *Chain) Backends() []string {
	out := make([]string, len(c.links))
	for i, l := range c.links {
		out[i] = l.Name
	}
	return out
}

// ChainError reports a lookup that failed in more than one backend: Errs[i]
// is the error of Backends[i], in the order they were tried. errors.Is and
// errors.As see every one of them, so a keyring that was unavailable still
// matches ErrUnavailable when the fallback then had nothing.
//
// With Op "set" or "delete" it reports a write that reached the primary
// backend but not the fallbacks listed: each of them either holds an old
// copy of the secret that it could not update or delete (Errs[i] is that
// write's error), or could not be checked for one (Errs[i] is the read's
// error: a locked or unavailable keyring, an insecure file) and may hold
// one. The message tells which. With Op "set", the first entry may be
// the primary backend's own write (marked "(primary)" in the message),
// which stored the new value but may keep an old copy beside it (Errs[0]
// matches ErrStaleCopy, or is a Chain's *ChainError with Op "set").
type ChainError struct {
	Op       string // "get", "set" or "delete"; "" is "get"
	Key      string
	Backends []string
	Errs     []error

	unchecked []bool // Op "set"/"delete": Backends[i] could not be read
	primary   bool   // Op "set": Backends[0] is the primary, Errs[0] its error (see storedDespite)
}

func (e *ChainError) Error() string {
	var b strings.Builder
	switch e.Op {
	case "", "get":
		b.WriteString("tokens: no backend served ")
		b.WriteString(strconv.Quote(e.Key))
	default:
		b.WriteString("tokens: chain ")
		b.WriteString(e.Op)
		b.WriteByte(' ')
		b.WriteString(strconv.Quote(e.Key))
		b.WriteString(" reached the primary but not every fallback")
	}
	for i, err := range e.Errs {
		b.WriteString("; ")
		if i < len(e.Backends) {
			b.WriteString(e.Backends[i])
		}
		switch {
		case e.Op == "" || e.Op == "get":
			b.WriteString(": ")
		case i == 0 && e.primary:
			b.WriteString(" (primary): ")
		case i < len(e.unchecked) && e.unchecked[i]:
			b.WriteString(" could not be checked for an old copy: ")
		case e.Op == "delete":
			b.WriteString(" holds an old copy (could not delete): ")
		default:
			b.WriteString(" holds an old copy (could not update): ")
		}
		if err != nil {
			b.WriteString(err.Error())
		}
	}
	return b.String()
}

func (e *ChainError) Unwrap() []error { return e.Errs }

// RewriteErrors returns a copy of e with each of Errs rewritten, for error
// redaction that keeps the *ChainError reachable (see RefreshError).
func (e *ChainError) RewriteErrors(rewrite func(error) error) error {
	c := *e
	c.Errs = make([]error, len(e.Errs))
	for i, err := range e.Errs {
		c.Errs[i] = rewrite(err)
	}
	return &c
}
