package signer_test

import (
	"crypto/ed25519"
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
	hk, _ := signer.NewHMACKey("h", make([]byte, signer.MinHMACKeySize))
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
