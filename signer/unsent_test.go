package signer_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/securecall/securecall/signer"
)

// TestNewRefusesFieldsNotSentAsSet: a field net/http writes itself
// (Transfer-Encoding, Trailer) or that HTTP/2 drops or refuses (the
// connection-specific fields) cannot be covered: the signature would
// never verify, or verify over one protocol only. New refuses it, naming
// the component.
func TestNewRefusesFieldsNotSentAsSet(t *testing.T) {
	key, err := signer.NewHMACKey("k", []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	keys := signer.StaticKey(key)
	for _, name := range []string{"transfer-encoding", "trailer", "connection", "keep-alive", "proxy-connection", "upgrade", "te"} {
		comps := append(signer.DefaultComponents(), signer.Field(name).IfPresent())
		_, err := signer.New(signer.Options{Keys: keys, Components: comps})
		var ce *signer.ConfigError
		if !errors.As(err, &ce) || !strings.HasPrefix(ce.Option, "Options.Components[") {
			t.Errorf("%s: err = %v, want a *ConfigError naming Options.Components[i]", name, err)
		}
	}
	if _, err := signer.New(signer.Options{Keys: keys, Components: append(signer.DefaultComponents(), signer.Field("x-request-id").IfPresent())}); err != nil {
		t.Errorf("an ordinary field: %v", err)
	}
}
