package tokens

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestCacheCorruptPersistedTokenIsClassified: a persisted token that is
// not valid JSON, or holds no value, is reported with an error an error
// handler can classify (ErrNoToken, as an empty stored refresh token is),
// naming the key and none of the stored bytes, and the source is asked.
func TestCacheCorruptPersistedTokenIsClassified(t *testing.T) {
	for name, stored := range map[string]string{
		"not JSON": "{not json " + secretValue,
		"no value": `{"value":"","type":"Bearer"}`,
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := NewMemoryStore()
				if err := store.Set(context.Background(), "cached-token", []byte(stored)); err != nil {
					t.Fatal(err)
				}
				src := &fakeSource{ttl: time.Hour}
				var reported []error
				c := mustCache(t, src, WithPersistence(store, "cached-token"), WithErrorHandler(func(err error) { reported = append(reported, err) }))
				mustToken(t, c, "tok-1")
				synctest.Wait()
				if len(reported) != 1 {
					t.Fatalf("%d errors reported, want 1: %v", len(reported), reported)
				}
				err := reported[0]
				if !errors.Is(err, ErrNoToken) {
					t.Errorf("error %q does not match ErrNoToken", err)
				}
				if !strings.Contains(err.Error(), `"cached-token"`) || containsSecret(err.Error()) {
					t.Errorf("error %q: want the key named, no stored bytes", err)
				}
				if n := src.calls.Load(); n != 1 {
					t.Errorf("%d source calls, want 1", n)
				}
			})
		})
	}
}
