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

// A TLSConfig.GetClientCertificate of the caller's that returns neither a
// certificate nor an error (a provider whose atomic.Pointer[tls.Certificate]
// holds nothing yet: "return p.cur.Load(), nil") breaks crypto/tls's
// contract, which dereferences the certificate: the handshake, which
// net/http makes on a goroutine of its own where no caller's recover
// reaches, panicked with a nil dereference and ended the whole process at
// the first server that asked for a client certificate. The call fails
// instead with an error that names GetClientCertificate, classified as a
// provider failure that says nothing of being transient (permanent, never
// a breaker failure), and is not retried.
func TestClientCertificateProviderReturnsNothing(t *testing.T) {
	w := newPKIWorld(t)
	clientCA := pkiMust(testpki.NewCA("client root"))
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			srv := pkiServer(t, w.leaf.TLS, true, nil, func(c *tls.Config) {
				c.ClientAuth = tls.RequireAndVerifyClientCert
				c.ClientCAs = testpki.Pool(clientCA)
				c.MaxVersion = version
			})
			get := func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return nil, nil }
			b := pkiBase(t, transport.BaseConfig{TLSConfig: &tls.Config{GetClientCertificate: get}}, srv, w.ca)
			inner := &countingRT{next: b}
			rt := pkiMust(transport.NewRetry(inner, transport.RetryConfig{
				MaxAttempts: 3, BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond,
			}))
			req, _ := http.NewRequest("GET", "https://api.example.test/", nil)
			resp, err := rt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("the call succeeded without a client certificate")
			}
			if !strings.Contains(err.Error(), "GetClientCertificate") {
				t.Errorf("error %q does not name GetClientCertificate", err)
			}
			errs := inner.attempts()
			if len(errs) != 1 {
				t.Errorf("%d attempts, want 1: %v", len(errs), errs)
			}
			v := transport.Classify(context.Background(), nil, errs[0], time.Now())
			if v.Class != transport.ClassPermanent || v.Breaker != transport.BreakerExcluded {
				t.Errorf("%v classified %+v, want permanent, excluded from the breaker", errs[0], v)
			}
		})
	}
}
