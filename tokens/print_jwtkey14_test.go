package tokens

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
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
	seed := priv.Seed()
	secrets := []string{strings.Trim(fmt.Sprint(seed), "[]"), hex.EncodeToString(seed), fmt.Sprintf("%X", seed), string(seed)}
	type holder struct{ a ClientAuth }                        // an unexported field: fmt walks it by reflection
	given := PrivateKeyJWT(PrivateKeyJWTConfig{Signer: priv}) // the key itself, not from a store
	for _, v := range []any{auth, holder{auth}, &holder{auth}, given, holder{given}} {
		var outs []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			outs = append(outs, fmt.Sprintf(verb, v))
		}
		for _, h := range []slog.Handler{slog.NewTextHandler(&strings.Builder{}, nil), nil} {
			var b strings.Builder
			if h == nil {
				h = slog.NewJSONHandler(&b, nil)
			} else {
				h = slog.NewTextHandler(&b, nil)
			}
			slog.New(h).Info("m", "v", v)
			outs = append(outs, b.String())
		}
		if j, err := json.Marshal(v); err == nil {
			outs = append(outs, string(j))
		}
		for _, out := range outs {
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
