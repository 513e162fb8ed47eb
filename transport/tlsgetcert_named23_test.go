package transport_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// An error a TLSConfig.GetClientCertificate of the caller's returns came
// back with the call as its bare text: a vault client's "context deadline
// exceeded" read `Get "https://api.example.test/": context deadline
// exceeded`, as if the API had not answered in time, and "connection
// refused" as if the API's host had refused the connection, though no
// byte was sent to it: the failure was the certificate provider's, and
// nothing in the message said so. The message names
// TLSConfig.GetClientCertificate now, over TLS 1.2 and 1.3; the provider's
// error stays in the chain (errors.Is finds it) and the call is classified
// as before (TestClientCertificateProviderFailure).
func TestClientCertificateProviderErrorNamesIt(t *testing.T) {
	w := newPKIWorld(t)
	clientCA := pkiMust(testpki.NewCA("client root"))
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			srv := pkiServer(t, w.leaf.TLS, true, nil, func(c *tls.Config) {
				c.ClientAuth = tls.RequireAndVerifyClientCert
				c.ClientCAs = testpki.Pool(clientCA)
				c.MaxVersion = version
			})
			get := func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return nil, context.DeadlineExceeded }
			b := pkiBase(t, transport.BaseConfig{TLSConfig: &tls.Config{GetClientCertificate: get}}, srv, w.ca)
			_, _, err := pkiGet(t, b, "https://api.example.test/")
			if err == nil {
				t.Fatal("the call succeeded")
			}
			if !strings.Contains(err.Error(), "GetClientCertificate") {
				t.Errorf("%q does not say the client certificate provider failed", err)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%v does not match the provider's error", err)
			}
			req, _ := http.NewRequest("GET", "https://api.example.test/", nil)
			if _, err := b.RoundTrip(req); err == nil || !strings.HasPrefix(err.Error(), "transport: TLSConfig.GetClientCertificate: ") {
				t.Errorf("Base's error %q, want it to start with the option's name", err)
			}
		})
	}
}
