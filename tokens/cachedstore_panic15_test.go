package tokens

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A CachedStore reads its backend on a goroutine of its own (the reads of
// a key are shared, each caller waiting on a channel), where no caller's
// recover reaches: a backend that panicked ended the whole process
// (singleflight panics again on a goroutine of its own). The panic is a
// failed read, a *StoreError naming the panic value's type, never its text.
func TestCachedStoreBackendPanicIsAFailedRead(t *testing.T) {
	inChild(t, func(t *testing.T) {
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
