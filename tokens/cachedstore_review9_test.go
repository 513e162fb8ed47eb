package tokens

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// hangingStore is a Store whose Get waits until its context ends (it
// honours ctx, as a Store must, but its backend never answers).
type hangingStore struct {
	*MemoryStore
	gets atomic.Int32
}

func (s *hangingStore) Get(ctx context.Context, key string) ([]byte, error) {
	s.gets.Add(1)
	<-ctx.Done()
	return nil, &StoreError{Backend: "hang", Op: "get", Key: key, Cause: ctx.Err()}
}

// The shared backend read of a CachedStore is detached from its first
// caller's cancellation, so it needs a bound of its own: without one, a
// backend that hangs while honouring ctx held every caller's Get of the key
// until that caller's own deadline, and a caller without a deadline for
// good. It now ends after WithReadTimeout (DefaultReadTimeout), matches
// ErrTimeout, and the next Get reads the backend again.
func TestCachedStoreSharedReadHasItsOwnTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		back := &hangingStore{MemoryStore: NewMemoryStore()}
		c, err := NewCachedStore(back)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = c.Get(context.Background(), "k")
		if !errors.Is(err, ErrTimeout) || !IsUnavailable(err) {
			t.Fatalf("Get of a hung backend: err = %v, want ErrTimeout", err)
		}
		if d := time.Since(start); d != DefaultReadTimeout {
			t.Errorf("Get returned after %v, want DefaultReadTimeout (%v)", d, DefaultReadTimeout)
		}
		c2, err := NewCachedStore(back, WithReadTimeout(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		if _, err := c2.Get(context.Background(), "k"); !errors.Is(err, ErrTimeout) || time.Since(start) != time.Second {
			t.Errorf("WithReadTimeout(1s): err = %v after %v", err, time.Since(start))
		}
		if n := back.gets.Load(); n != 2 {
			t.Errorf("backend reads = %d, want 2", n)
		}
	})
	for _, d := range []time.Duration{0, -time.Second} {
		_, err := NewCachedStore(NewMemoryStore(), WithReadTimeout(d))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithReadTimeout" {
			t.Errorf("WithReadTimeout(%v): err = %v, want a *ConfigError", d, err)
		}
	}
}
