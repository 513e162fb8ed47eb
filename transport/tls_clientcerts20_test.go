package transport_test

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// A client certificate of TLSConfig.Certificates whose leaf has expired,
// or whose extended key usage leaves out clientAuth (a server
// certificate), was taken without a word, as a ClientCertificate's never
// is: every server that asks for a client certificate then refused every
// handshake, with an alert as vague as "bad certificate", at run time.
// NewBase (and CheckTLSConfig, which client uses for WithBaseTransport)
// now refuse it with a *ConfigError naming TLSConfig.Certificates and
// saying which one and why.
func TestTLSConfigCertificatesRefusesUnusableClientCertificate(t *testing.T) {
	ca := pkiMust(testpki.NewCA("client root"))
	good := pkiMust(ca.Client("svc"))
	expired := pkiMust(ca.Issue(testpki.LeafOptions{Names: []string{"svc"}, Client: true,
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}))
	server := pkiMust(ca.Server("api.example.test"))
	noLeaf := expired.TLS
	noLeaf.Leaf = nil // parsed from the DER

	for _, tc := range []struct {
		name  string
		certs []tls.Certificate
		want  string
	}{
		{"expired", []tls.Certificate{expired.TLS}, "Certificates[0]"},
		{"expired, Leaf not set", []tls.Certificate{noLeaf}, "expired"},
		{"server certificate", []tls.Certificate{server.TLS}, "clientAuth"},
		{"second of two", []tls.Certificate{good.TLS, expired.TLS}, "Certificates[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &tls.Config{Certificates: tc.certs}
			for what, err := range map[string]error{
				"NewBase":        func() error { _, err := transport.NewBase(transport.BaseConfig{TLSConfig: cfg}); return err }(),
				"CheckTLSConfig": transport.CheckTLSConfig(cfg),
			} {
				ce, ok := errors.AsType[*transport.ConfigError](err)
				if !ok || ce.Option != "TLSConfig.Certificates" {
					t.Fatalf("%s: %v, want a *ConfigError for TLSConfig.Certificates", what, err)
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("%s: %q, want it to say %q", what, err, tc.want)
				}
			}
		})
	}
	if _, err := transport.NewBase(transport.BaseConfig{TLSConfig: &tls.Config{Certificates: []tls.Certificate{good.TLS}}}); err != nil {
		t.Fatalf("NewBase with a valid client certificate: %v", err)
	}
}
