package signer_test

import (
	"context"
	"testing"

	"github.com/securecall/securecall/signer"
)

// nilLookup is a KeyLookup of someone else's, used through a nil pointer.
type nilLookup struct{ keys map[string]*signer.Key }

func (l *nilLookup) LookupKey(_ context.Context, id string) (*signer.Key, error) {
	if k, ok := l.keys[id]; ok {
		return k, nil
	}
	return nil, signer.ErrUnknownKey
}

// A nil pointer in VerifierOptions.Keys or .Nonces (a *KeySet or a
// *MemoryNonceStore variable never assigned: an interface holding a nil
// pointer is not nil) made NewVerifier panic (Nonces: MaxRetention of the
// nil store) or pass it and panic on every request (Keys). It is a
// *ConfigError naming the field, as client.New's options refuse a typed
// nil.
func TestNewVerifierRefusesTypedNil(t *testing.T) {
	k, err := signer.NewHMACKey("k", []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	var ks *signer.KeySet
	var nl *nilLookup
	var store *signer.MemoryNonceStore
	for _, c := range []struct {
		name   string
		opts   signer.VerifierOptions
		option string
	}{
		{"nil *KeySet", signer.VerifierOptions{Keys: ks}, "VerifierOptions.Keys"},
		{"nil custom KeyLookup", signer.VerifierOptions{Keys: nl}, "VerifierOptions.Keys"},
		{"nil *MemoryNonceStore", signer.VerifierOptions{Keys: signer.StaticKey(k), Nonces: store}, "VerifierOptions.Nonces"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var v *signer.Verifier
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("NewVerifier panicked: %v", p)
					}
				}()
				v, err = signer.NewVerifier(c.opts)
			}()
			if v != nil {
				t.Errorf("NewVerifier returned a Verifier")
			}
			wantConfigErr(t, "NewVerifier", err, c.option)
		})
	}
}

// nilSource is a KeySource of someone else's, used through a nil pointer.
type nilSource struct{ k *signer.Key }

func (s *nilSource) SigningKey(context.Context) (*signer.Key, error) { return s.k, nil }

// The signing side: a nil pointer in Options.Keys (a *KeySet or a
// KeySource of the caller's never assigned) was accepted by New and
// panicked on every Sign. It is a *ConfigError naming the field, as
// NewVerifier's is.
func TestNewSignerRefusesTypedNil(t *testing.T) {
	var ks *signer.KeySet
	var ns *nilSource
	for _, c := range []struct {
		name string
		keys signer.KeySource
	}{
		{"nil *KeySet", ks},
		{"nil custom KeySource", ns},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s *signer.Signer
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("New panicked: %v", p)
					}
				}()
				s, err = signer.New(signer.Options{Keys: c.keys})
			}()
			if s != nil {
				t.Errorf("New returned a Signer")
			}
			wantConfigErr(t, "New", err, "Options.Keys")
		})
	}
}
