package signer

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// fallbackLookup is a custom KeyLookup with a common mistake: for an id it
// does not know it hands back a default key instead of ErrUnknownKey.
type fallbackLookup struct{ known, fallback *Key }

func (l fallbackLookup) LookupKey(_ context.Context, id string) (*Key, error) {
	if id == l.known.ID() {
		return l.known, nil
	}
	return l.fallback, nil
}

// TestVerifyRefusesKeyOfAnotherID: a request is verified only with a key
// of the id it names. A custom KeyLookup that answered an id with another
// key (a default for ids it does not know) had the request accepted under
// the id it named, which is what the verifier reports and the application
// authorises by: a holder of the default key could name any id.
func TestVerifyRefusesKeyOfAnotherID(t *testing.T) {
	def := testKey(t, "default")
	named := testKey(t, "named")
	// Signed with the default key's material, under an id it is not.
	impostor, err := NewHMACKey("admin", append([]byte("default-"), testSecret...))
	if err != nil {
		t.Fatal(err)
	}
	s := mustSigner(t, Options{Keys: StaticKey(impostor)})
	r, _ := http.NewRequest("GET", "https://example.com/", nil)
	if err := s.Sign(context.Background(), r, t0); err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(VerifierOptions{Keys: fallbackLookup{known: named, fallback: def}})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := v.Verify(serverView(t, r), t0); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Verify = %+v, %v; want ErrUnknownKey (the lookup answered \"admin\" with the key \"default\")", res, err)
	}
}
