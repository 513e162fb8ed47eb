package keyring_test

import (
	"errors"
	"testing"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/tokens/keyring"
)

// Two keyring Stores of one service hold the same items: a Cache
// persisting its access token under the key of its Refresher's refresh
// token would overwrite it (see tokens.NewCache). Another service is
// another store.
func TestCachePersistenceKeyOfItsRefresherRefusedSameService(t *testing.T) {
	a, _ := keyring.New("securecall-refresherkey18")
	b, _ := keyring.New("securecall-refresherkey18")
	other, _ := keyring.New("securecall-refresherkey18-other")
	cfg := tokens.OAuth2Config{TokenURL: "https://as.example/token", ClientID: "c", Auth: tokens.ClientSecretBasic(tokens.StaticSecret([]byte("s")))}
	r, err := tokens.NewRefresher(cfg, a, "refresh-token")
	if err != nil {
		t.Fatal(err)
	}
	cached, _ := tokens.NewCachedStore(b)
	var ce *tokens.ConfigError
	if _, err := tokens.NewCache(r, tokens.WithPersistence(cached, "refresh-token")); !errors.As(err, &ce) || ce.Option != "WithPersistence" {
		t.Errorf("same service: NewCache = %v, want a *ConfigError naming WithPersistence", err)
	}
	if _, err := tokens.NewCache(r, tokens.WithPersistence(other, "refresh-token")); err != nil {
		t.Errorf("another service: %v", err)
	}
}
