package signer_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/securecall/securecall/signer"
)

func edPublicKey(t *testing.T, id string) *signer.Key {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	k, err := signer.NewEd25519Key(id, priv)
	if err != nil {
		t.Fatal(err)
	}
	return k.Public()
}

// NewKeySet took a verification-only key (an Ed25519 public key) as the
// current signing key, which Rotate refuses: the set was made, and every
// Sign with it then failed at request time.
func TestNewKeySetRefusesVerificationOnlyCurrent(t *testing.T) {
	pub := edPublicKey(t, "pub")
	ks, err := signer.NewKeySet(pub)
	wantConfigErr(t, "NewKeySet(verification-only current)", err, "NewKeySet")
	if ks != nil {
		t.Errorf("NewKeySet returned a set with a verification-only current key")
	}
	// As an older key, kept for verification, it is fine.
	hk, _ := signer.NewHMACKey("h", bytes.Repeat([]byte{1}, signer.MinHMACKeySize))
	if _, err := signer.NewKeySet(hk, pub); err != nil {
		t.Errorf("NewKeySet(hmac, verification-only other): %v", err)
	}
	if _, err := signer.NewKeySet(nil, pub); err != nil {
		t.Errorf("NewKeySet(nil, verification-only other): %v", err)
	}
}

// New and NewVerifier took StaticKey(nil) and StaticKey of a zero Key (not
// made by a constructor): the Signer or Verifier was made, and every Sign
// then failed (a *KeyError) and every Verify refused the request
// (ErrUnknownKey) at request time. Both are a *ConfigError naming Keys.
func TestStaticKeyOfNoKeyRefused(t *testing.T) {
	for name, k := range map[string]*signer.Key{"nil": nil, "zero": new(signer.Key)} {
		_, err := signer.New(signer.Options{Keys: signer.StaticKey(k)})
		wantConfigErr(t, name+": New", err, "Options.Keys")
		_, err = signer.NewVerifier(signer.VerifierOptions{Keys: signer.StaticKey(k)})
		wantConfigErr(t, name+": NewVerifier", err, "VerifierOptions.Keys")
	}
}

// New took StaticKey of a verification-only key (an Ed25519 public key):
// every Sign then failed at request time. It is a *ConfigError naming
// Options.Keys; the verifier takes the same source.
func TestNewRefusesStaticVerificationOnlyKey(t *testing.T) {
	pub := edPublicKey(t, "pub")
	_, err := signer.New(signer.Options{Keys: signer.StaticKey(pub)})
	wantConfigErr(t, "New(StaticKey(public key))", err, "Options.Keys")
	if _, err := signer.NewVerifier(signer.VerifierOptions{Keys: signer.StaticKey(pub)}); err != nil {
		t.Errorf("NewVerifier(StaticKey(public key)): %v", err)
	}
}

// A *Key reached through unexported fields (the source StaticKey returns,
// a Signer or Verifier using it, a caller's struct) is printed by
// reflection, not by Key's Format, and for a verb fmt has no case for on a
// pointer (%s, %q, %c, ...) fmt prints the Key's fields: fmt.Sprintf("%s",
// signer.StaticKey(k)), or a *Signer or *Verifier with %s, showed the HMAC
// secret or the Ed25519 private key byte by byte.
func TestKeyMaterialNeverPrintedThroughHolders(t *testing.T) {
	secret := bytes.Repeat([]byte{0xab}, signer.MinHMACKeySize)
	hk, err := signer.NewHMACKey("h", secret)
	if err != nil {
		t.Fatal(err)
	}
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := signer.NewEd25519Key("e", priv)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		k        *signer.Key
		material []byte
	}{{hk, secret}, {ek, priv.Seed()}} {
		forms := []string{strings.Trim(fmt.Sprint(tc.material), "[]"), hex.EncodeToString(tc.material),
			fmt.Sprintf("%X", tc.material), string(tc.material), base64.StdEncoding.EncodeToString(tc.material)[:40]}
		ks, err := signer.NewKeySet(tc.k)
		if err != nil {
			t.Fatal(err)
		}
		s, err := signer.New(signer.Options{Keys: signer.StaticKey(tc.k)})
		if err != nil {
			t.Fatal(err)
		}
		v, err := signer.NewVerifier(signer.VerifierOptions{Keys: signer.StaticKey(tc.k)})
		if err != nil {
			t.Fatal(err)
		}
		holders := map[string]any{
			"StaticKey": signer.StaticKey(tc.k), "KeySet": ks, "Signer": s, "Verifier": v,
			"caller's struct": struct{ k *signer.Key }{tc.k},
		}
		for name, h := range holders {
			var outs []string
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%b", "%c", "%U", "%t", "%e"} {
				outs = append(outs, verb+" "+fmt.Sprintf(verb, h))
			}
			for _, jsonHandler := range []bool{false, true} {
				var b strings.Builder
				var lh slog.Handler = slog.NewTextHandler(&b, nil)
				if jsonHandler {
					lh = slog.NewJSONHandler(&b, nil)
				}
				slog.New(lh).Info("m", "v", h)
				outs = append(outs, b.String())
			}
			if j, err := json.Marshal(h); err == nil {
				outs = append(outs, string(j))
			}
			for _, out := range outs {
				for _, f := range forms {
					if strings.Contains(out, f) {
						t.Errorf("%s of key %s printed shows key material: %q", name, tc.k.ID(), out)
						break
					}
				}
			}
		}
	}
}
