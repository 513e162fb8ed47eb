package transport_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// A TLSConfig.GetClientCertificate of the caller's (a vault or agent that
// rotates the certificate and the key one after the other) returning a
// certificate whose PrivateKey is not its leaf's key had it sent: the
// server refused the handshake's signature with "remote error: tls: error
// decrypting message", which names neither the certificate nor the key
// (TLSConfig.Certificates refuses such a pair at NewBase,
// ClientCertificate at every load). The handshake stops before the
// certificate is sent, with an error naming GetClientCertificate and the
// mismatch, classified as the provider's permanent failure (never a
// breaker failure, one attempt), over TLS 1.2 and 1.3.
func TestClientCertificateProviderMismatchedKey(t *testing.T) {
	w := newPKIWorld(t)
	clientCA := pkiMust(testpki.NewCA("client root"))
	c1 := pkiMust(clientCA.Client("svc"))
	c2 := pkiMust(clientCA.Client("svc"))
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			bad := c2.TLS // the new certificate, the old key
			bad.PrivateKey = c1.Key
			srv := pkiServer(t, w.leaf.TLS, true, nil, func(c *tls.Config) {
				c.ClientAuth = tls.RequireAndVerifyClientCert
				c.ClientCAs = testpki.Pool(clientCA)
				c.MaxVersion = version
			})
			get := func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &bad, nil }
			b := pkiBase(t, transport.BaseConfig{TLSConfig: &tls.Config{GetClientCertificate: get}}, srv, w.ca)
			inner := &countingRT{next: b}
			rt := pkiMust(transport.NewRetry(inner, transport.RetryConfig{
				MaxAttempts: 3, BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond,
			}))
			req, _ := http.NewRequest("GET", "https://api.example.test/", nil)
			resp, err := rt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("the call succeeded")
			}
			if !strings.Contains(err.Error(), "GetClientCertificate") || !strings.Contains(err.Error(), "not the key of its leaf") {
				t.Errorf("error %q does not name GetClientCertificate and the mismatch", err)
			}
			errs := inner.attempts()
			if len(errs) != 1 {
				t.Errorf("%d attempts, want 1: %v", len(errs), errs)
			}
			v := transport.Classify(context.Background(), nil, errs[0], time.Now())
			if v.Class != transport.ClassPermanent || v.Breaker != transport.BreakerExcluded {
				t.Errorf("%v classified %+v, want permanent, excluded from the breaker", errs[0], v)
			}
			// The pair it returns once the rotation is complete is used.
			bad = c2.TLS
			if _, body, err := pkiGet(t, b, "https://api.example.test/"); err != nil || body != "ok" {
				t.Errorf("after the rotation: %q, %v", body, err)
			}
		})
	}
}
