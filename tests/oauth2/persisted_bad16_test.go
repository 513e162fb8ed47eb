package oauth2

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/tokens"
)

// TestPersistedTokenAHeaderCannotCarryIsRefetched: a Cache's persisted
// token was read back without the checks a fetched token passes
// (ClientCredentials and FromOAuth2 refuse a token type but Bearer, and
// an access token with a control, space, comma, quote or non-ASCII
// character), so a stored token with a CR/LF in its value or type, or of
// another type, was put in the Authorization header as it was. It is
// treated as absent: reported once to the error handler (naming the key,
// never the stored value), and a fresh token is fetched and persisted in
// its place.
func TestPersistedTokenAHeaderCannotCarryIsRefetched(t *testing.T) {
	const canary = "CANARY16"
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)
	for name, stored := range map[string]string{
		"CRLF in value":   `{"value":"` + canary + `\r\nX-Injected: 1","type":"Bearer","expiry":"` + exp + `"}`,
		"LF in value":     `{"value":"` + canary + `\nrest","type":"Bearer","expiry":"` + exp + `"}`,
		"space in value":  `{"value":"` + canary + ` rest","type":"Bearer","expiry":"` + exp + `"}`,
		"non-ASCII value": `{"value":"` + canary + `é","type":"Bearer","expiry":"` + exp + `"}`,
		"DEL in value":    `{"value":"` + canary + `\u007f","type":"Bearer","expiry":"` + exp + `"}`,
		"DPoP type":       `{"value":"` + canary + `","type":"DPoP","expiry":"` + exp + `"}`,
		"CRLF in type":    `{"value":"` + canary + `","type":"Bearer\r\nX-Injected: 1","expiry":"` + exp + `"}`,
		"no type":         `{"value":"` + canary + `","expiry":"` + exp + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			s := newAuthServer(t, time.Hour)
			ctx := context.Background()
			files, err := tokens.NewFileStore(t.TempDir() + "/secrets")
			if err != nil {
				t.Fatal(err)
			}
			if err := files.Set(ctx, "access-token", []byte(stored)); err != nil {
				t.Fatal(err)
			}
			store := savedStore{files, make(chan error, 1)}
			cc, err := tokens.NewClientCredentials(s.config(basicAuth()))
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var reported []error
			c := newCache(t, cc, tokens.WithPersistence(store, "access-token"), tokens.WithErrorHandler(func(err error) {
				mu.Lock()
				reported = append(reported, err)
				mu.Unlock()
			}))
			defer c.Close()
			status, _, err := s.get(t, s.authLayer(t, c))
			if status != 200 || err != nil {
				t.Fatalf("GET = %d, %v; want 200 with a fresh token", status, err)
			}
			if n := s.requests("client_credentials"); n != 1 {
				t.Errorf("%d token requests, want 1", n)
			}
			select {
			case err := <-store.saved:
				if err != nil {
					t.Fatalf("persisting the fresh token: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the fresh token was never persisted")
			}
			b, err := files.Get(ctx, "access-token")
			if err != nil || strings.Contains(string(b), canary) {
				t.Errorf("store holds %q, %v; want the fresh token", b, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(reported) != 1 {
				t.Fatalf("%d errors reported, want 1: %v", len(reported), reported)
			}
			if err := reported[0]; !errors.Is(err, tokens.ErrNoToken) || !strings.Contains(err.Error(), `"access-token"`) || strings.Contains(err.Error(), canary) {
				t.Errorf("reported %q: want ErrNoToken, the key named, never the stored value", err)
			}
		})
	}
}
