package tokens

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
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
	seed := priv.Seed()
	secrets := []string{strings.Trim(fmt.Sprint(seed), "[]"), hex.EncodeToString(seed), fmt.Sprintf("%X", seed),
		string(seed), base64.StdEncoding.EncodeToString(priv)[:40]}
	cfg := PrivateKeyJWTConfig{Signer: priv, KeyID: "k1", Audience: "https://as.example", Lifetime: time.Minute}
	type exported struct{ Cfg PrivateKeyJWTConfig } // fmt calls Format on an exported field
	var outs []string
	for _, v := range []any{cfg, &cfg, exported{cfg}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			outs = append(outs, fmt.Sprintf(verb, v))
		}
		for _, json := range []bool{false, true} {
			var b strings.Builder
			var h slog.Handler = slog.NewTextHandler(&b, nil)
			if json {
				h = slog.NewJSONHandler(&b, nil)
			}
			slog.New(h).Info("m", "cfg", v)
			outs = append(outs, b.String())
		}
		if j, err := json.Marshal(v); err == nil {
			outs = append(outs, string(j))
		}
	}
	for _, out := range outs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("printed the private key: %s", out)
			}
		}
	}
	want := `tokens.PrivateKeyJWTConfig{Signer ed25519.PrivateKey, KeyID="k1", Audience="https://as.example", Lifetime=1m0s}`
	if got := fmt.Sprint(cfg); got != want {
		t.Errorf("fmt.Sprint = %s, want %s", got, want)
	}
}
