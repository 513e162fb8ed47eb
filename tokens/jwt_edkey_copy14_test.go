package tokens

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/url"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// PrivateKeyJWT kept an ed25519.PrivateKey given as Signer (a byte slice)
// as the caller's: a caller wiping its copy of the key after building the
// ClientAuth (as StaticSecret and signer.NewHMACKey allow) made every
// later assertion signed with a zero key, refused by the server.
func TestPrivateKeyJWTEd25519SignerCopied(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var assertion string
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		assertion = f.Get("client_assertion")
		issue(w, "at", "")
	})
	auth := PrivateKeyJWT(PrivateKeyJWTConfig{Signer: priv, KeyID: "k1"})
	clear(priv) // the caller is done with its copy

	cc, err := NewClientCredentials(as.config(auth))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := jwt.Parse(assertion, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"EdDSA"})); err != nil {
		t.Fatalf("assertion does not verify with the key given to PrivateKeyJWT: %v", err)
	}
}
