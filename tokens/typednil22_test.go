package tokens_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/securecall/securecall/tokens"
)

// A nil pointer held in a Store or Source interface (a *tokens.FileStore
// or *tokens.ClientCredentials variable never assigned) is not a nil
// interface: NewCache (its Source, WithPersistence), NewCachedStore,
// NewChain and NewRefresher took it, and its first use panicked (a
// Chain's Get on the caller's goroutine; the others recovered it into a
// failed read or refresh at every call). As they refuse a zero value,
// they now refuse it with a *ConfigError naming the argument.
func TestTypedNilStoresAndSourcesRefused(t *testing.T) {
	var fs *tokens.FileStore
	var ms *tokens.MemoryStore
	var cc *tokens.ClientCredentials
	src := tokens.Static(tokens.NewToken("t", "Bearer", time.Now().Add(time.Hour)))
	oc := tokens.OAuth2Config{TokenURL: "https://auth.example/token", ClientID: "c", Auth: tokens.ClientSecretBasic(tokens.StaticSecret([]byte("s")))}
	check := func(what, option string, f func() error) {
		t.Helper()
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					err = errors.New("panicked")
				}
			}()
			err = f()
		}()
		wantConfigErr(t, what, err, option)
	}
	check("NewCache(nil *ClientCredentials)", "Source", func() error { _, err := tokens.NewCache(cc); return err })
	check("WithPersistence(nil *FileStore)", "WithPersistence", func() error {
		_, err := tokens.NewCache(src, tokens.WithPersistence(fs, "k"))
		return err
	})
	check("NewCachedStore(nil *FileStore)", "Store", func() error { _, err := tokens.NewCachedStore(fs); return err })
	check("NewChain(primary nil *MemoryStore)", "primary", func() error {
		c, err := tokens.NewChain(tokens.Backend{Name: "mem", Store: ms})
		if err == nil {
			_, err = c.Get(context.Background(), "k")
		}
		return err
	})
	check("NewChain(fallback nil *FileStore)", "Fallback[0]", func() error {
		_, err := tokens.NewChain(tokens.Backend{Name: "mem", Store: tokens.NewMemoryStore()},
			tokens.Fallback(tokens.Backend{Name: "file", Store: fs}, tokens.WhenNotFound))
		return err
	})
	check("NewRefresher(nil *FileStore)", "store", func() error { _, err := tokens.NewRefresher(oc, fs, "k"); return err })
}
