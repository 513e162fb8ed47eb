package transport_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/transport"
)

// An EgressPolicy with no allowlist allows every https host. As a
// credential Scope it would send the token, API key or signature to every
// host the service calls (a user's webhook URL included): refused like an
// empty Origins, with a *ConfigError naming the Scope option.
func TestCredentialScopeRefusesAllowEverythingPolicy(t *testing.T) {
	open, err := transport.NewEgressPolicy(transport.EgressConfig{})
	if err != nil {
		t.Fatal(err)
	}
	listed, err := transport.NewEgressPolicy(transport.EgressConfig{Allow: []string{"api.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	src := staticKey("k")
	sgn, err := signer.New(signer.Options{Keys: signer.StaticKey(signKey(t))})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		option string
		build  func(transport.Scope) error
	}{
		{"AuthConfig.Scope", func(s transport.Scope) error {
			_, err := transport.NewAuth(http.DefaultTransport, transport.AuthConfig{Source: src, Scope: s})
			return err
		}},
		{"APIKeyConfig.Scope", func(s transport.Scope) error {
			_, err := transport.NewAPIKey(http.DefaultTransport, transport.APIKeyConfig{Source: src, Scope: s})
			return err
		}},
		{"SignConfig.Scope", func(s transport.Scope) error {
			_, err := transport.NewSign(http.DefaultTransport, transport.SignConfig{Signer: sgn, Scope: s})
			return err
		}},
	} {
		var ce *transport.ConfigError
		if err := tc.build(open); !errors.As(err, &ce) || ce.Option != tc.option {
			t.Errorf("%s: allow-everything policy: err = %v, want *ConfigError naming %s", tc.option, err, tc.option)
		}
		if err := tc.build(listed); err != nil {
			t.Errorf("%s: policy with an allowlist: %v", tc.option, err)
		}
	}
}
