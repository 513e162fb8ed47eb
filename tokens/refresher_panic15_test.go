package tokens

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/internal/childtest"
)

// A Refresher runs its refresh on a goroutine of its own (detached from
// the caller's cancellation, so that a rotated refresh token is
// persisted), where no caller's recover reaches: a store or a client
// secret function that panicked (a bug in the caller's code) ended the
// whole process. The panic is a failed refresh, matching ErrNoToken and
// naming the panic value's type, never its text; the next Token refreshes
// again.
func TestRefresherPanicIsAFailedRefresh(t *testing.T) {
	childtest.Run(t, func(t *testing.T) {
		as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
			issue(w, "at", "")
		})
		ctx := context.Background()
		var secretPanics atomic.Bool
		secret := SecretFunc(func(context.Context) ([]byte, error) {
			if secretPanics.Load() {
				panic("secret bug near secret-value")
			}
			return []byte("s"), nil
		})
		store := &panicStore{MemoryStore: NewMemoryStore(), get: true}
		store.MemoryStore.Set(ctx, "rt", []byte("rt-0"))
		r, err := NewRefresher(as.config(ClientSecretBasic(secret)), store, "rt")
		if err != nil {
			t.Fatal(err)
		}
		check := func(what string) {
			t.Helper()
			_, err := r.Token(ctx)
			if !errors.Is(err, ErrNoToken) || strings.Contains(err.Error(), "secret-value") || !strings.Contains(err.Error(), "string") {
				t.Fatalf("%s: err = %v, want an error naming the panic value's type only", what, err)
			}
		}
		check("store")
		store.get = false
		secretPanics.Store(true)
		check("secret")
		secretPanics.Store(false)
		if tok, err := r.Token(ctx); err != nil || tok.Value() != "at" {
			t.Fatalf("after the panics: %v, %v", tok, err)
		}
	})
}
