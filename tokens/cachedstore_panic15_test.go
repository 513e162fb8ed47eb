package tokens

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/securecall/securecall/internal/childtest"
)

// A CachedStore reads its backend on a goroutine of its own (the reads of
// a key are shared, each caller waiting on a channel), where no caller's
// recover reaches: a backend that panicked ended the whole process
// (singleflight panics again on a goroutine of its own). The panic is a
// failed read, a *StoreError naming the panic value's type, never its text.
func TestCachedStoreBackendPanicIsAFailedRead(t *testing.T) {
	childtest.Run(t, func(t *testing.T) {
		cs, err := NewCachedStore(&panicStore{MemoryStore: NewMemoryStore(), get: true})
		if err != nil {
			t.Fatal(err)
		}
		_, err = cs.Get(context.Background(), "k")
		var se *StoreError
		if !errors.As(err, &se) || strings.Contains(err.Error(), "secret-value") || !strings.Contains(err.Error(), "string") {
			t.Fatalf("err = %v, want a *StoreError naming the panic value's type only", err)
		}
	})
}

// The WithOnChange hook runs on that goroutine too: a hook that panicked
// ended the whole process. Its panic is recovered and logged; the read's value stands.
func TestCachedStoreOnChangePanicIsDropped(t *testing.T) {
	childtest.Run(t, func(t *testing.T) {
		ctx := context.Background()
		backend := NewMemoryStore()
		if err := backend.Set(ctx, "k", []byte("v1")); err != nil {
			t.Fatal(err)
		}
		calls := 0
		cs, err := NewCachedStore(backend, WithOnChange(func(string) {
			calls++
			panic("hook bug near secret-value")
		}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cs.Get(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if err := backend.Set(ctx, "k", []byte("v2")); err != nil {
			t.Fatal(err)
		}
		v, err := cs.Refresh(ctx, "k")
		if err != nil || !bytes.Equal(v, []byte("v2")) || calls != 1 {
			t.Fatalf("Refresh = %q, %v; %d hook calls, want v2, nil, 1", v, err, calls)
		}
		if v, err := cs.Get(ctx, "k"); err != nil || !bytes.Equal(v, []byte("v2")) {
			t.Fatalf("Get = %q, %v, want the new value cached", v, err)
		}
	})
}
