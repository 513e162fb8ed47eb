package transport_test

import (
	"crypto/tls"
	"errors"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// A TLSConfig.ServerName that is an IPv6 address with a zone ("fe80::1%eth0")
// was accepted as an IP address, but crypto/x509 verifies it as a DNS name
// (net.ParseIP takes no zone), which no certificate is valid for: every
// handshake failed, blaming the server's certificate, as with the other
// server names CheckTLSConfig refuses. It is refused now with a
// *ConfigError for "TLSConfig.ServerName"; the address without its zone
// goes on working.
func TestTLSConfigServerNameWithZoneRefused(t *testing.T) {
	ca := pkiMust(testpki.NewCA("root"))
	leaf := pkiMust(ca.Server("fe80::1", "::1"))
	for _, name := range []string{"fe80::1%eth0", "[fe80::1%eth0]", "::1%lo", "[::1%25lo]"} {
		if leaf.Cert.VerifyHostname(name) == nil {
			t.Fatalf("x509 verifies %q for a certificate of fe80::1 and ::1: the premise is gone", name)
		}
		for what, err := range map[string]error{
			"NewBase": func() error {
				_, err := transport.NewBase(transport.BaseConfig{TLSConfig: &tls.Config{ServerName: name}})
				return err
			}(),
			"CheckTLSConfig": transport.CheckTLSConfig(&tls.Config{ServerName: name}),
		} {
			if ce, ok := errors.AsType[*transport.ConfigError](err); !ok || ce.Option != "TLSConfig.ServerName" {
				t.Errorf("%s(ServerName %q) = %v, want a *ConfigError for TLSConfig.ServerName", what, name, err)
			}
		}
	}
	for _, name := range []string{"fe80::1", "[::1]"} {
		if err := leaf.Cert.VerifyHostname(name); err != nil {
			t.Fatal(err)
		}
		if err := transport.CheckTLSConfig(&tls.Config{ServerName: name}); err != nil {
			t.Errorf("CheckTLSConfig(ServerName %q) = %v, want nil", name, err)
		}
	}
}
