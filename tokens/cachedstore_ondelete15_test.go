package tokens

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A re-read (Refresh, or a Get after WithMaxAge) that found a key gone from
// the backend dropped the cached value but did not call the WithOnChange
// hook, so a caller deriving something from the secret (an HMAC key set, a
// token obtained with a client secret) kept using what the deleted secret
// gave. The hook is called for a deletion too.
func TestCachedStoreOnChangeCalledWhenKeyDeleted(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts []CachedStoreOption
		read func(c *CachedStore) error
	}{
		{"Refresh", nil, func(c *CachedStore) error { _, err := c.Refresh(ctx, "k"); return err }},
		{"MaxAge", []CachedStoreOption{WithMaxAge(time.Nanosecond)}, func(c *CachedStore) error { _, err := c.Get(ctx, "k"); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			back := NewMemoryStore()
			back.Set(ctx, "k", []byte("old"))
			var calls []string
			c, err := NewCachedStore(back, append(tc.opts, WithOnChange(func(k string) { calls = append(calls, k) }))...)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Get(ctx, "k"); err != nil {
				t.Fatal(err)
			}
			back.Delete(ctx, "k")
			if err := tc.read(c); !errors.Is(err, ErrNotFound) {
				t.Fatalf("read = %v, want ErrNotFound", err)
			}
			if len(calls) != 1 || calls[0] != "k" {
				t.Fatalf("OnChange calls after the key was deleted = %v, want [k]", calls)
			}
			// Not cached any more: another read that finds nothing is no
			// change.
			tc.read(c)
			if len(calls) != 1 {
				t.Fatalf("OnChange calls after a second read of the deleted key = %v, want [k]", calls)
			}
		})
	}
}

// WithOnChangeOrDelete tells a deletion from a new value.
func TestCachedStoreOnChangeOrDeleteSaysWhich(t *testing.T) {
	ctx := context.Background()
	back := NewMemoryStore()
	back.Set(ctx, "k", []byte("v1"))
	type call struct {
		key     string
		deleted bool
	}
	var calls []call
	c, err := NewCachedStore(back, WithOnChangeOrDelete(func(k string, deleted bool) { calls = append(calls, call{k, deleted}) }))
	if err != nil {
		t.Fatal(err)
	}
	c.Get(ctx, "k")
	back.Set(ctx, "k", []byte("v2"))
	if v, err := c.Refresh(ctx, "k"); err != nil || string(v) != "v2" {
		t.Fatalf("Refresh = %q %v", v, err)
	}
	c.Refresh(ctx, "k") // unchanged: no call
	back.Delete(ctx, "k")
	if _, err := c.Refresh(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Refresh = %v, want ErrNotFound", err)
	}
	if want := []call{{"k", false}, {"k", true}}; len(calls) != 2 || calls[0] != want[0] || calls[1] != want[1] {
		t.Fatalf("calls = %+v, want %+v", calls, want)
	}
	// A locked backend says nothing about the key: no call.
	primary := &lockableStore{MemoryStore: NewMemoryStore()}
	primary.MemoryStore.Set(ctx, "k", []byte("v"))
	calls = nil
	c2, _ := NewCachedStore(primary, WithOnChangeOrDelete(func(k string, deleted bool) { calls = append(calls, call{k, deleted}) }))
	c2.Get(ctx, "k")
	primary.err = ErrLocked
	c2.Refresh(ctx, "k")
	if len(calls) != 0 {
		t.Fatalf("calls after a locked re-read = %+v, want none", calls)
	}
}

// The hook may read the key it is told about: a Get of the deleted key in
// the hook reads the backend and answers ErrNotFound instead of waiting for
// the read the hook runs in. (The deadline only stops a hang from holding
// the test: the answer must be ErrNotFound, not ErrTimeout.)
func TestCachedStoreOnChangeHookMayGetDeletedKey(t *testing.T) {
	ctx := context.Background()
	back := NewMemoryStore()
	back.Set(ctx, "k", []byte("v"))
	var c *CachedStore
	var got []error
	c, _ = NewCachedStore(back, WithOnChange(func(k string) {
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := c.Get(hctx, k)
		got = append(got, err)
	}))
	c.Get(ctx, "k")
	back.Delete(ctx, "k")
	c.Refresh(ctx, "k")
	if len(got) != 1 || !errors.Is(got[0], ErrNotFound) || errors.Is(got[0], ErrTimeout) {
		t.Fatalf("Get in the hook = %v, want one ErrNotFound", got)
	}
}
