package transport_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// A TLSConfig.GetClientCertificate of the caller's that fails (it fetches
// the certificate from a vault that is sealed or unreachable, an agent
// that is down) aborts the handshake before anything was sent, and the
// server is not at fault. Its error came back unclassified: ambiguous, so
// a POST was reported as maybe processed (one attempt, never retried even
// when the provider said its failure was transient) and every such
// handshake counted against the host's circuit breaker, which opened on a
// local fault. It is classified as a failing client key's signer is
// (TestClientKeySignerFailure): never sent and retried when the provider
// says it is transient (Temporary, a deadline, a store unavailable),
// permanent otherwise, never a breaker failure; its error stays
// reachable.
func TestClientCertificateProviderFailure(t *testing.T) {
	w := newPKIWorld(t)
	clientCA := pkiMust(testpki.NewCA("client root"))
	errSealed := errors.New("vault: sealed")
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		for _, tc := range []struct {
			name     string
			err      error
			class    transport.Class
			attempts int
		}{
			{"temporary", hsmBusy{}, transport.ClassNeverSent, 3},
			{"deadline", context.DeadlineExceeded, transport.ClassNeverSent, 3},
			{"permanent", errSealed, transport.ClassPermanent, 1},
		} {
			t.Run(tls.VersionName(version)+"/"+tc.name, func(t *testing.T) {
				srv := pkiServer(t, w.leaf.TLS, true, nil, func(c *tls.Config) {
					c.ClientAuth = tls.RequireAndVerifyClientCert
					c.ClientCAs = testpki.Pool(clientCA)
					c.MaxVersion = version
				})
				get := func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return nil, tc.err }
				b := pkiBase(t, transport.BaseConfig{TLSConfig: &tls.Config{GetClientCertificate: get}}, srv, w.ca)
				inner := &countingRT{next: b}
				rt := pkiMust(transport.NewRetry(inner, transport.RetryConfig{
					MaxAttempts: 3, BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond,
				}))
				req, _ := http.NewRequest("POST", "https://api.example.test/", http.NoBody)
				_, err := rt.RoundTrip(req)
				if err == nil {
					t.Fatal("the call succeeded")
				}
				errs := inner.attempts()
				v := transport.Classify(context.Background(), nil, errs[0], time.Now())
				if v.Class != tc.class || v.Breaker != transport.BreakerExcluded {
					t.Errorf("%v classified %+v, want %v, excluded from the breaker", errs[0], v, tc.class)
				}
				if len(errs) != tc.attempts {
					t.Errorf("%d attempts, want %d: %v", len(errs), tc.attempts, errs)
				}
				if !errors.Is(err, tc.err) {
					if _, ok := tc.err.(hsmBusy); !ok || !errors.As(err, new(hsmBusy)) {
						t.Errorf("%v does not match the provider's error %v", err, tc.err)
					}
				}
				if transport.IsCertificateError(err) {
					t.Errorf("%v is a certificate error", err)
				}
			})
		}
	}
}
