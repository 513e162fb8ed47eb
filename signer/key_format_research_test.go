package signer

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
)

// TestKeyFormatEveryVerbHidesMaterial: a *Key printed with any fmt verb,
// not only the string verbs that call String, shows no key material
// (%d, %x of the struct's bytes, %c, ... print the fields by reflection).
func TestKeyFormatEveryVerbHidesMaterial(t *testing.T) {
	secret := []byte("supersecretsupersecretsupersecret")
	hk, err := NewHMACKey("k1", secret)
	if err != nil {
		t.Fatal(err)
	}
	priv := ed25519.NewKeyFromSeed([]byte("0123456789abcdef0123456789abcdef"))
	ek, err := NewEd25519Key("k2", priv)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*Key{hk, ek} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q", "%o", "%b", "%c", "%U", "%t", "%e", "%8.3d"} {
			got := fmt.Sprintf(verb, k)
			if got != k.String() && !(verb == "%#v" && got == k.GoString()) {
				t.Errorf("Sprintf(%q, %s) = %q, want %q", verb, k.ID(), got, k.String())
			}
			if strings.Contains(got, "115 117 112") || strings.Contains(got, "supersecret") || strings.Contains(got, "48 49 50") {
				t.Errorf("Sprintf(%q, %s) shows key material: %q", verb, k.ID(), got)
			}
		}
	}
}
