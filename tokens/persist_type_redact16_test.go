package tokens

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2"
)

// A persisted token refused on read-back for its type names the key only:
// a type that holds a secret (a value stored in the type's place, or
// appended to it) is not quoted, as the value is not.
func TestCachePersistedTypeNotQuoted(t *testing.T) {
	exp := `"expiry":"2000-01-01T02:00:00Z"`
	for _, tt := range []struct {
		name, stored string
		bearerOnly   bool
	}{
		{"secret as type, Bearer-only source", `{"value":"v","type":"` + secretValue + `",` + exp + `}`, true},
		{"secret after Bearer", `{"value":"v","type":"Bearer ` + secretValue + `",` + exp + `}`, false},
		{"secret with CRLF as type", `{"value":"v","type":"` + secretValue + `\r\n",` + exp + `}`, false},
		{"non-JSON with secret", `{"value":"` + secretValue, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := NewMemoryStore()
				if err := store.Set(context.Background(), "cached-token", []byte(tt.stored)); err != nil {
					t.Fatal(err)
				}
				fake := &fakeSource{ttl: time.Hour}
				var src Source = fake
				if tt.bearerOnly {
					src = FromOAuth2(oauth2.ReuseTokenSource(nil, sourceTS{fake}))
				}
				var reported []error
				c := mustCache(t, src, WithPersistence(store, "cached-token"), WithErrorHandler(func(err error) { reported = append(reported, err) }))
				if _, err := c.Token(context.Background()); err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				if len(reported) != 1 || !errors.Is(reported[0], ErrNoToken) {
					t.Fatalf("reported %v, want one error matching ErrNoToken", reported)
				}
				if containsSecret(reported[0].Error()) {
					t.Errorf("reported %q quotes the stored type", reported[0])
				}
			})
		})
	}
}
