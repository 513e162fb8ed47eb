package tokens

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A PrivateKeyJWTConfig with an Ed25519 key as its Signer holds the key as
// a byte slice: fmt (every verb), a slog handler and encoding/json printed
// it, seed included, from a config logged while debugging. It prints the
// fields that are not the key.
func TestPrivateKeyJWTConfigNeverPrintsTheKey(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	secrets := seedForms(priv)
	cfg := PrivateKeyJWTConfig{Signer: priv, KeyID: "k1", Audience: "https://as.example", Lifetime: time.Minute}
	type exported struct{ Cfg PrivateKeyJWTConfig } // fmt calls Format on an exported field
	for _, v := range []any{cfg, &cfg, exported{cfg}} {
		for _, out := range printings(v) {
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("printed the private key: %s", out)
				}
			}
		}
	}
	want := `tokens.PrivateKeyJWTConfig{Signer ed25519.PrivateKey, KeyID="k1", Audience="https://as.example", Lifetime=1m0s}`
	if got := fmt.Sprint(cfg); got != want {
		t.Errorf("fmt.Sprint = %s, want %s", got, want)
	}
}
