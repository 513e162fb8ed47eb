package keyring_test

import (
	"errors"
	"testing"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/tokens/keyring"
)

// TestPersistenceKeyCaseAliasRefusedKeyring: Windows' Credential Manager,
// which go-keyring keeps an item in under the target "service:key",
// compares target names ignoring case, so keys (or services) that differ
// only in case name one item there, as ValidateKey says ("distinct ... in
// a keyring on Linux and macOS"). 9e23e7b refused such aliases in a
// FileStore only: a Cache persisting its access token under
// "Refresh-Token" beside a Refresher keeping "refresh-token" in the same
// keyring service was accepted, and on Windows the token's JSON
// overwrote the refresh token (the grant lost at the next refresh).
// They count as one on every system now, as a FileStore's do; another
// service is still another store.
func TestPersistenceKeyCaseAliasRefusedKeyring(t *testing.T) {
	a, _ := keyring.New("securecall-casekeys22")
	upper, _ := keyring.New("SecureCall-CaseKeys22")
	other, _ := keyring.New("securecall-casekeys22-other")
	cfg := tokens.OAuth2Config{TokenURL: "https://as.example/token", ClientID: "c", Auth: tokens.ClientSecretBasic(tokens.StaticSecret([]byte("s")))}
	r, err := tokens.NewRefresher(cfg, a, "refresh-token")
	if err != nil {
		t.Fatal(err)
	}
	var ce *tokens.ConfigError
	for name, s := range map[string]tokens.Store{"same service": a, "service in another case": upper} {
		if _, err := tokens.NewCache(r, tokens.WithPersistence(s, "Refresh-Token")); !errors.As(err, &ce) || ce.Option != "WithPersistence" {
			t.Errorf("%s, key in another case: NewCache = %v, want a *ConfigError naming WithPersistence", name, err)
		}
	}
	if _, err := tokens.NewCache(r, tokens.WithPersistence(upper, "refresh-token")); !errors.As(err, &ce) || ce.Option != "WithPersistence" {
		t.Errorf("service in another case: NewCache = %v, want a *ConfigError naming WithPersistence", err)
	}
	if _, err := tokens.NewCache(tokens.StoreSource(a, "api-key", ""), tokens.WithPersistence(a, "API-KEY")); !errors.As(err, &ce) || ce.Option != "WithPersistence" {
		t.Errorf("StoreSource: NewCache = %v, want a *ConfigError naming WithPersistence", err)
	}
	if _, err := tokens.NewCache(r, tokens.WithPersistence(other, "Refresh-Token")); err != nil {
		t.Errorf("another service: %v", err)
	}
	if _, err := tokens.NewCache(r, tokens.WithPersistence(a, "access-token")); err != nil {
		t.Errorf("another key: %v", err)
	}
}
