package transport_test

import (
	"strings"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// A server that asks for a client certificate from one CA and gets one
// issued by another: the ClientCertificate presents it anyway (it does not
// drop it as crypto/tls's own selection from tls.Config.Certificates
// would, leaving the server to answer "certificate required"), so the
// server's refusal names the problem, and it is a certificate error: the
// handshake is not retried. Over HTTP/1.1 only: HTTP/2 is
// TestHTTP2ClientCertificateRefusalIsACertificateError's subject.
func TestClientCertificateFromAnotherCAIsRefusedByTheServer(t *testing.T) {
	for _, h2 := range []bool{false} {
		m := newMTLSWorld(t, h2) // requires certificates from m.clientCA
		other := pkiMust(testpki.NewCA("other root"))
		leaf := pkiMust(other.Client("svc-x"))
		cc := pkiMust(transport.NewClientCertificateFromPEM(leaf.CertPEM, leaf.KeyPEM))
		_, _, err := pkiGet(t, m.base(t, cc, nil), "https://api.example.test/x")
		if err == nil {
			t.Fatalf("h2=%v: the server accepted a certificate from another CA", h2)
		}
		if !transport.IsCertificateError(err) {
			t.Errorf("h2=%v: %v is not a certificate error", h2, err)
		}
		if !strings.Contains(err.Error(), "unknown certificate authority") {
			t.Errorf("h2=%v: error %q does not carry the server's unknown_ca alert", h2, err)
		}
		if n := len(m.seen()); n != 0 {
			t.Errorf("h2=%v: %d requests reached the handler", h2, n)
		}
	}
}
