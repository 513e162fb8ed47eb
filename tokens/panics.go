package tokens

import (
	"context"
	"fmt"

	"github.com/securecall/securecall/internal/hookpanic"
)

// The functions here call the caller's code (an error handler, a Store)
// from a goroutine of the package's own, where no caller's recover
// reaches: a panic there (a bug in that code) would end the process. A
// panic is named by its value's type only, its text may hold a secret.

// callHandler calls an error handler. Its panic is recovered and logged
// (hookpanic), the error it was given having nowhere else to go; the
// component goes on as if it had returned.
func callHandler(f func(error), err error) {
	defer hookpanic.Recover("tokens: error handler")
	f(err)
}

// storePanic is the error of a Store operation that panicked.
func storePanic(op, key string, v any) error {
	return &StoreError{Backend: "store", Op: op, Key: key, Err: fmt.Errorf("the store panicked (%T)", v)}
}

// storeGet is s.Get, a panic in it a *StoreError.
func storeGet(ctx context.Context, s Store, key string) (b []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			b, err = nil, storePanic("get", key, v)
		}
	}()
	return s.Get(ctx, key)
}

// storeSet is s.Set, a panic in it a *StoreError.
func storeSet(ctx context.Context, s Store, key string, value []byte) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = storePanic("set", key, v)
		}
	}()
	return s.Set(ctx, key, value)
}

// storeDelete is s.Delete, a panic in it a *StoreError.
func storeDelete(ctx context.Context, s Store, key string) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = storePanic("delete", key, v)
		}
	}()
	return s.Delete(ctx, key)
}
