package client_test

import (
	"errors"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/signer"
)

// WithHMACSigning took StaticKey(nil) and StaticKey of a zero Key: New
// made the client, and every call then failed to sign. It is a
// *ConfigError naming WithHMACSigning.
func TestWithHMACSigningRefusesStaticKeyOfNoKey(t *testing.T) {
	for name, k := range map[string]*signer.Key{"nil": nil, "zero": new(signer.Key)} {
		c, err := client.New(client.WithOrigins("https://api.example.test"), client.WithHMACSigning(signer.StaticKey(k)))
		if c != nil {
			c.Close()
		}
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithHMACSigning" {
			t.Errorf("%s: New: %v, want a *ConfigError naming WithHMACSigning", name, err)
		}
	}
}
