package tokens

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2"
)

// TestCachePersistedTokenChecked: a persisted token is read back with the
// checks a fetched token passes, since the store may hold what the Cache
// never wrote; one that fails them is reported once (naming the key,
// never the value) and the source is asked, as for a corrupt one. One
// that passes them is used without asking the source.
func TestCachePersistedTokenChecked(t *testing.T) {
	exp := `"expiry":"2000-01-01T02:00:00Z"` // synctest's clock starts at 2000-01-01T00:00:00Z
	for _, tt := range []struct {
		name, stored string
		bearerOnly   bool  // the source is FromOAuth2's
		want         error // nil: used
	}{
		{"bearer CRLF", `{"value":"` + secretValue + `\r\nX-Injected: 1","type":"Bearer",` + exp + `}`, false, ErrMalformedToken},
		{"bearer comma", `{"value":"` + secretValue + `,x","type":"Bearer",` + exp + `}`, false, ErrMalformedToken},
		{"bearer non-ASCII", `{"value":"` + secretValue + `é","type":"Bearer",` + exp + `}`, false, ErrMalformedToken},
		{"api key LF", `{"value":"` + secretValue + `\n",` + exp + `}`, false, ErrMalformedToken},
		{"type with space", `{"value":"` + secretValue + `","type":"Bearer x",` + exp + `}`, false, ErrMalformedToken},
		{"type with CRLF", `{"value":"` + secretValue + `","type":"Bearer\r\nX: 1",` + exp + `}`, false, ErrMalformedToken},
		{"DPoP from a Bearer-only source", `{"value":"` + secretValue + `","type":"DPoP",` + exp + `}`, true, ErrUnsupportedTokenType},
		{"no type from a Bearer-only source", `{"value":"` + secretValue + `",` + exp + `}`, true, ErrUnsupportedTokenType},
		{"bearer", `{"value":"` + secretValue + `","type":"Bearer",` + exp + `}`, true, nil},
		{"api key", `{"value":"` + secretValue + ` with a space",` + exp + `}`, false, nil},
		{"DPoP from another source", `{"value":"` + secretValue + `","type":"DPoP",` + exp + `}`, false, nil},
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
				tok, err := c.Token(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				if tt.want == nil {
					if !strings.HasPrefix(tok.Value(), secretValue) || fake.calls.Load() != 0 || len(reported) != 0 {
						t.Fatalf("persisted token not used: %d source calls, reported %v", fake.calls.Load(), reported)
					}
					return
				}
				if tok.Value() != "tok-1" || fake.calls.Load() != 1 {
					t.Errorf("token %v after %d source calls, want tok-1 after 1", tok, fake.calls.Load())
				}
				if len(reported) != 1 {
					t.Fatalf("%d errors reported, want 1: %v", len(reported), reported)
				}
				err = reported[0]
				if !errors.Is(err, tt.want) || !errors.Is(err, ErrNoToken) {
					t.Errorf("reported %q, want it to match %v and ErrNoToken", err, tt.want)
				}
				if !strings.Contains(err.Error(), `"cached-token"`) || containsSecret(err.Error()) {
					t.Errorf("reported %q: want the key named, no stored bytes", err)
				}
			})
		})
	}
}

// sourceTS is a Source as an oauth2.TokenSource.
type sourceTS struct{ src Source }

func (s sourceTS) Token() (*oauth2.Token, error) {
	tok, err := s.src.Token(context.Background())
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: tok.Value(), TokenType: tok.Type(), Expiry: tok.Expiry()}, nil
}
