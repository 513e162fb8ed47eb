package tokens

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// The ClientAuth of PrivateKeyJWT keeps the key it parsed from the store.
// An Ed25519 private key is a byte slice, which fmt prints by reflection
// even from an unexported field: fmt.Sprint(auth), or a slog text handler
// given auth, printed the key's seed (and the PEM's hash) once a token
// request had parsed it, and so did one given the key as its Signer. It
// now prints its method and key id only.
func TestPrivateKeyJWTAuthNeverPrintsTheKey(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	auth := PrivateKeyJWT(PrivateKeyJWTConfig{Key: StaticSecret(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), KeyID: "k1"})
	if _, err := auth.prepare(context.Background(), "https://as.example/token", "client"); err != nil {
		t.Fatal(err)
	}
	secrets := seedForms(priv)
	type holder struct{ a ClientAuth }                        // an unexported field: fmt walks it by reflection
	given := PrivateKeyJWT(PrivateKeyJWTConfig{Signer: priv}) // the key itself, not from a store
	for _, v := range []any{auth, holder{auth}, &holder{auth}, given, holder{given}} {
		for _, out := range printings(v) {
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("%T printed the private key: %s", v, out)
				}
			}
		}
	}
	if got := fmt.Sprint(auth); got != `tokens.PrivateKeyJWT{kid="k1"}` {
		t.Errorf("fmt.Sprint = %s", got)
	}
}

// seedForms returns the forms in which a printed Ed25519 key would show
// its seed: fmt's decimal bytes, hex either case, the raw bytes, and the
// start of the key's base64 (encoding/json's form of a byte slice).
func seedForms(priv ed25519.PrivateKey) []string {
	seed := priv.Seed()
	return []string{strings.Trim(fmt.Sprint(seed), "[]"), hex.EncodeToString(seed), fmt.Sprintf("%X", seed),
		string(seed), base64.StdEncoding.EncodeToString(priv)[:40]}
}

// printings returns v as every fmt verb prints it, as slog's text and JSON
// handlers log it, and as encoding/json writes it (when it can).
func printings(v any) []string {
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, v))
	}
	for _, jsonHandler := range []bool{false, true} {
		var b strings.Builder
		var h slog.Handler = slog.NewTextHandler(&b, nil)
		if jsonHandler {
			h = slog.NewJSONHandler(&b, nil)
		}
		slog.New(h).Info("m", "v", v)
		outs = append(outs, b.String())
	}
	if j, err := json.Marshal(v); err == nil {
		outs = append(outs, string(j))
	}
	return outs
}
