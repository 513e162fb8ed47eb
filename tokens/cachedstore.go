package tokens

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/securecall/securecall/internal/hookpanic"
)

// DefaultReadTimeout bounds a CachedStore's shared backend read when
// WithReadTimeout is not given.
const DefaultReadTimeout = 30 * time.Second

// CachedStoreOption configures NewCachedStore.
type CachedStoreOption interface{ applyCached(*CachedStore) }

type cachedOptionFunc func(*CachedStore)

func (f cachedOptionFunc) applyCached(c *CachedStore) { f(c) }

// WithMaxAge makes a cached value expire d after it was read, so the next
// Get reads the backend again and picks up a rotated secret. Zero keeps
// values until Refresh, Forget, Set or Delete. Default: zero.
func WithMaxAge(d time.Duration) CachedStoreOption {
	return cachedOptionFunc(func(c *CachedStore) { c.maxAge = d })
}

// WithReadTimeout bounds each backend read. A read is shared by every
// concurrent Get and Refresh of its key and runs detached from their
// cancellation, so this timeout, not a caller's deadline, is what ends a
// read a backend never answers (every caller's Get of the key waits for
// it until its own context ends): the read then fails with an error
// matching ErrTimeout, and the next Get reads the backend again. A Get or
// Refresh that its caller's deadline ends first fails with an error
// matching ErrTimeout too (and the context's cause); a cancelled one does
// not. A d under a millisecond (no backend read finishes in it; zero and
// negative included) is a *ConfigError. Default DefaultReadTimeout.
func WithReadTimeout(d time.Duration) CachedStoreOption {
	return cachedOptionFunc(func(c *CachedStore) { c.timeout = d })
}

// WithOnChange sets the rotation hook: a function called with the key when a
// read of the backend (Refresh, or a Get after WithMaxAge) finds a value
// different from the cached one, or finds the key gone from the backend
// (ErrNotFound: deleted or revoked there; the cached value is dropped).
// Use it to drop what was derived from the old secret, for example to
// Invalidate a token obtained with an old client secret. To tell a
// deletion from a new value, use WithOnChangeOrDelete. It runs on the
// goroutine of the read, which the key's readers wait for, and must not
// block; it may Get or Refresh the key (a
// Get of a deleted key then reads the backend again). A key that was not
// cached has no old value, and its first read calls no hook. A panic in
// the hook is recovered and logged (slog's default logger, naming its type only) (the read runs on a goroutine of the
// CachedStore's own, where no caller's recover reaches). The last of
// WithOnChange and WithOnChangeOrDelete given is the hook.
func WithOnChange(f func(key string)) CachedStoreOption {
	if f == nil {
		return WithOnChangeOrDelete(nil)
	}
	return WithOnChangeOrDelete(func(key string, _ bool) { f(key) })
}

// WithOnChangeOrDelete is WithOnChange with the kind of change: deleted is
// false when the re-read found a new value (Get returns it) and true when
// it found the key gone from the backend (the cached value was dropped, and
// a Get reads the backend again).
func WithOnChangeOrDelete(f func(key string, deleted bool)) CachedStoreOption {
	return cachedOptionFunc(func(c *CachedStore) { c.onChange = f })
}

// CachedStore keeps the secrets it reads from another Store in memory, so
// that only the first Get of a key costs a backend read (a keyring read
// takes milliseconds). Concurrent first reads of one key share one backend
// read. Set and Delete write through and update the cache. Refresh re-reads
// a key for rotation; WithOnChange reports a rotated or deleted value.
//
// A backend read has a timeout of its own (WithReadTimeout). It runs on a
// goroutine of its own, shared by the concurrent readers of the key: a
// backend that panics fails the read, a *StoreError naming the panic
// value's type (never its text).
// Not-found results are not cached, and a read (Refresh, or a Get after
// WithMaxAge) that finds a key gone from the backend drops its cached value;
// a read that fails otherwise (a locked keyring) leaves it. Values live in process memory until
// Forget, Delete or replacement, which clears the old bytes (Go may still
// hold copies elsewhere; see docs/secrets.md).
type CachedStore struct {
	s        Store
	maxAge   time.Duration
	timeout  time.Duration
	onChange func(key string, deleted bool)

	mu  sync.RWMutex
	m   map[string]cachedValue
	seq uint64 // orders backend reads and writes (guarded by mu)
	sf  singleflight.Group
}

// cachedValue is a cached secret or, when gone is set, a tombstone left by
// Delete or Forget. seq is when the value was read or written (c.seq): a
// backend read that began before it must not replace it with an older
// answer.
type cachedValue struct {
	v    []byte
	read time.Time
	seq  uint64
	gone bool
}

// NewCachedStore returns a CachedStore over s.
func NewCachedStore(s Store, opts ...CachedStoreOption) (*CachedStore, error) {
	if s == nil {
		return nil, configErr("Store", "nil store")
	}
	if err := unusable("Store", s); err != nil {
		return nil, err
	}
	c := &CachedStore{s: s, timeout: DefaultReadTimeout, m: make(map[string]cachedValue)}
	for _, o := range opts {
		if o != nil {
			o.applyCached(c)
		}
	}
	if c.maxAge < 0 {
		return nil, configErr("WithMaxAge", "negative duration %v", c.maxAge)
	}
	if c.timeout < minDuration {
		return nil, configErr("WithReadTimeout", "need at least %v, got %v", minDuration, c.timeout)
	}
	return c, nil
}

// Get returns a copy of the cached value, reading the backend on the first
// call for key (and after WithMaxAge).
func (c *CachedStore) Get(ctx context.Context, key string) ([]byte, error) {
	if c.s == nil {
		return nil, zeroErr(c)
	}
	c.mu.RLock()
	cv, ok := c.m[key]
	if ok && !cv.gone && (c.maxAge == 0 || time.Since(cv.read) < c.maxAge) {
		// Copied under the lock: a replacement clears the old bytes.
		v := append([]byte(nil), cv.v...)
		c.mu.RUnlock()
		return v, nil
	}
	c.mu.RUnlock()
	v, err := c.read(ctx, key)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), v...), nil
}

// Refresh reads key from the backend again, replaces the cached value and
// returns a copy of it. When the backend no longer has key (ErrNotFound),
// the cached value is dropped and later Gets read the backend. It is the hook for rotation: call it when a secret
// is known to have changed (a token endpoint answered invalid_client).
func (c *CachedStore) Refresh(ctx context.Context, key string) ([]byte, error) {
	if c.s == nil {
		return nil, zeroErr(c)
	}
	c.sf.Forget(key)
	v, err := c.read(ctx, key)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), v...), nil
}

// read reads key once for all concurrent callers and caches the result.
// The returned slice is shared by those callers (not the cached one, which
// a replacement clears): each copies it.
func (c *CachedStore) read(ctx context.Context, key string) ([]byte, error) {
	ch := c.sf.DoChan(key, func() (any, error) {
		c.mu.Lock()
		c.seq++
		start := c.seq
		c.mu.Unlock()
		// Detached from the first caller's cancellation: others share
		// it. Bounded by its own timeout: a backend that never answers
		// would otherwise hold every Get of key.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		v, err := storeGet(rctx, c.s, key)
		timedOut := rctx.Err() != nil
		cancel()
		if err != nil {
			if timedOut && !IsUnavailable(err) && !errors.Is(err, ErrNotFound) {
				err = &StoreError{Backend: "cache", Op: "get", Key: key, Err: ErrTimeout, Cause: err}
			}
			if errors.Is(err, ErrNotFound) && !IsUnavailable(err) {
				// The backend no longer has key (deleted or revoked behind
				// the cache): drop the cached value, or the next Get
				// would serve it. A backend that could not serve says
				// nothing about the key, and the value stays.
				c.mu.Lock()
				old, had := c.m[key]
				dropped := had && !old.gone && old.seq <= start
				if dropped {
					clear(old.v)
					c.m[key] = cachedValue{seq: start, gone: true}
				}
				c.mu.Unlock()
				if dropped {
					c.changed(key, true)
				}
			}
			return nil, err
		}
		shared := append([]byte(nil), v...)
		c.mu.Lock()
		old, had := c.m[key]
		if had && old.seq > start {
			// A Set, Delete, Forget or later read of key happened while
			// this read was in flight: its answer may be older, keep theirs.
			c.mu.Unlock()
			clear(v)
			return shared, nil
		}
		had = had && !old.gone
		changed := had && !bytes.Equal(old.v, v)
		c.m[key] = cachedValue{v: v, read: time.Now(), seq: start}
		if had {
			clear(old.v)
		}
		c.mu.Unlock()
		if changed {
			c.changed(key, false)
		}
		return shared, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.([]byte), nil
	case <-ctx.Done():
		// The caller's deadline, with or without a cause of its own
		// (WithTimeoutCause), is ErrTimeout, as for the keyring store;
		// a cancellation is not.
		var sentinel error
		cause := context.Cause(ctx)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(cause, context.DeadlineExceeded) {
			sentinel = ErrTimeout
		}
		return nil, &StoreError{Backend: "cache", Op: "get", Key: key, Err: sentinel, Cause: cause}
	}
}

// changed calls the WithOnChange hook from a read of key. The read is
// first taken out of the singleflight group: a Get of key in the hook
// would otherwise wait for the read the hook is part of (a deleted key is
// not cached, so its Get reads).
func (c *CachedStore) changed(key string, deleted bool) {
	if c.onChange == nil {
		return
	}
	c.sf.Forget(key)
	// The read runs on singleflight's goroutine, where no caller's
	// recover reaches: a panicking hook would end the process.
	defer hookpanic.Recover("tokens: CachedStore WithOnChange hook")
	c.onChange(key, deleted)
}

// Set writes through to the backend and caches value. When the backend
// fails, key is forgotten: the write may have taken effect (a FileStore
// whose directory sync failed after the rename), so the cached value may
// be stale. When another write, Delete, Forget or read of key answered
// while this write was in the backend, key is forgotten too: the backend
// may hold either value, and the next Get reads which.
func (c *CachedStore) Set(ctx context.Context, key string, value []byte) error {
	if c.s == nil {
		return zeroErr(c)
	}
	c.mu.Lock()
	c.seq++
	start := c.seq
	c.mu.Unlock()
	if err := c.s.Set(ctx, key, value); err != nil {
		c.Forget(key)
		return err
	}
	c.mu.Lock()
	if old, had := c.m[key]; had && old.seq > start {
		c.mu.Unlock()
		c.Forget(key)
		return nil
	}
	v := append([]byte(nil), value...)
	if old, had := c.m[key]; had {
		clear(old.v)
	}
	c.seq++
	c.m[key] = cachedValue{v: v, read: time.Now(), seq: c.seq}
	c.mu.Unlock()
	// A Get from now on must not join a read that began before the write.
	c.sf.Forget(key)
	return nil
}

// Delete deletes from the backend and the cache.
func (c *CachedStore) Delete(ctx context.Context, key string) error {
	if c.s == nil {
		return zeroErr(c)
	}
	err := c.s.Delete(ctx, key)
	c.Forget(key) // after the backend: a read in between must not re-cache it
	return err
}

// Forget drops key from the cache (not from the backend), clearing the
// cached bytes. A backend read of key already in flight does not cache its
// answer.
func (c *CachedStore) Forget(key string) {
	if c.s == nil {
		return
	}
	c.mu.Lock()
	if old, had := c.m[key]; had {
		clear(old.v)
	}
	c.seq++
	c.m[key] = cachedValue{seq: c.seq, gone: true}
	c.mu.Unlock()
	c.sf.Forget(key)
}
