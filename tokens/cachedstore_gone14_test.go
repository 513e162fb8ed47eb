package tokens

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A secret deleted from the backend behind a CachedStore's back (revoked,
// re-provisioned under another key) was still served after a read of the
// backend had found it gone: Refresh answered ErrNotFound but left the old
// value cached, so the next Get returned the deleted secret, for good
// without WithMaxAge; with WithMaxAge the expired value stayed in memory.
// A read that finds the key gone now drops it, clearing its bytes.
func TestCachedStoreDropsSecretTheBackendNoLongerHas(t *testing.T) {
	ctx := context.Background()
	t.Run("Refresh", func(t *testing.T) {
		back := NewMemoryStore()
		back.Set(ctx, "k", []byte("old"))
		c, _ := NewCachedStore(back)
		if v, err := c.Get(ctx, "k"); err != nil || string(v) != "old" {
			t.Fatalf("Get = %q %v", v, err)
		}
		cached := c.m["k"].v
		back.Delete(ctx, "k")
		if _, err := c.Refresh(ctx, "k"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Refresh = %v, want ErrNotFound", err)
		}
		if v, err := c.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get after Refresh found the key gone = %q %v, want ErrNotFound", v, err)
		}
		if string(cached) != "\x00\x00\x00" {
			t.Fatalf("dropped value not cleared: %q", cached)
		}
	})
	t.Run("ChainRefresh", func(t *testing.T) {
		back := NewMemoryStore()
		back.Set(ctx, "k", []byte("old"))
		c, _ := NewCachedStore(back)
		chain, _ := NewChain(Backend{Name: "cache", Store: c})
		c.Get(ctx, "k")
		back.Delete(ctx, "k")
		if _, err := chain.Refresh(ctx, "k"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Chain.Refresh = %v, want ErrNotFound", err)
		}
		if v, err := chain.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Chain.Get = %q %v, want ErrNotFound", v, err)
		}
	})
	t.Run("MaxAge", func(t *testing.T) {
		back := NewMemoryStore()
		back.Set(ctx, "k", []byte("old"))
		c, _ := NewCachedStore(back, WithMaxAge(time.Nanosecond))
		c.Get(ctx, "k")
		cached := c.m["k"].v
		back.Delete(ctx, "k")
		if _, err := c.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get = %v, want ErrNotFound", err)
		}
		if string(cached) != "\x00\x00\x00" {
			t.Fatalf("expired value of a deleted key kept in memory: %q", cached)
		}
	})
	// An unavailable backend is no answer about the key: the cached value
	// stays (a locked keyring must not make a cached secret vanish), even
	// when a fallback then had nothing.
	t.Run("UnavailableKeepsIt", func(t *testing.T) {
		back := NewMemoryStore()
		back.Set(ctx, "k", []byte("old"))
		primary := &lockableStore{MemoryStore: back}
		chain, _ := NewChain(Backend{Name: "keyring", Store: primary},
			Fallback(Backend{Name: "file", Store: NewMemoryStore()}, WhenUnavailable))
		c, _ := NewCachedStore(chain)
		c.Get(ctx, "k")
		primary.err = ErrLocked
		if _, err := c.Refresh(ctx, "k"); !errors.Is(err, ErrLocked) || !errors.Is(err, ErrNotFound) {
			t.Fatalf("Refresh = %v, want ErrLocked and ErrNotFound", err)
		}
		if v, err := c.Get(ctx, "k"); err != nil || string(v) != "old" {
			t.Fatalf("Get after an unavailable read = %q %v, want the cached value", v, err)
		}
	})
}

// lockableStore fails Get with err when it is set.
type lockableStore struct {
	*MemoryStore
	err error
}

func (s *lockableStore) Get(ctx context.Context, key string) ([]byte, error) {
	if s.err != nil {
		return nil, &StoreError{Backend: "failing", Op: "get", Key: key, Err: s.err}
	}
	return s.MemoryStore.Get(ctx, key)
}
