package transport_test

import (
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// hsmKey is a client certificate key held by a hardware or remote signer
// (an HSM, a KMS, an OS keyring): every signature fails with err.
type hsmKey struct {
	pub crypto.PublicKey
	err error
}

func (k *hsmKey) Public() crypto.PublicKey { return k.pub }

func (k *hsmKey) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) { return nil, k.err }

// hsmBusy is a transient signer failure: it says so with Temporary.
type hsmBusy struct{}

func (hsmBusy) Error() string   { return "hsm: device busy" }
func (hsmBusy) Temporary() bool { return true }

var errKeyDestroyed = errors.New("hsm: key destroyed")

// The client certificate's signer failing in the handshake ("tls: failed
// to sign handshake: ..." over TLS 1.3, the signer's own error over TLS
// 1.2) is a local failure before anything was sent: the breaker never
// counts it against the server. A failure the signer says is transient
// (Temporary, a deadline, a store that is unavailable) is retried as
// never sent, whatever the method; any other is permanent: one attempt.
// Either way the signer's error is reachable with errors.Is and As.
func TestClientKeySignerFailure(t *testing.T) {
	w := newPKIWorld(t)
	clientCA := pkiMust(testpki.NewCA("client root"))
	client := pkiMust(clientCA.Client("svc"))
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		for _, tc := range []struct {
			name      string
			err       error
			class     transport.Class
			attempts  int
			wantMatch func(error) bool
		}{
			{"temporary", hsmBusy{}, transport.ClassNeverSent, 3, func(err error) bool {
				_, ok := errors.AsType[hsmBusy](err)
				return ok
			}},
			{"deadline", context.DeadlineExceeded, transport.ClassNeverSent, 3, func(err error) bool {
				return errors.Is(err, context.DeadlineExceeded)
			}},
			{"permanent", errKeyDestroyed, transport.ClassPermanent, 1, func(err error) bool {
				return errors.Is(err, errKeyDestroyed)
			}},
		} {
			for _, via := range []string{"GetClientCertificate", "Certificates"} {
				t.Run(tls.VersionName(version)+"/"+tc.name+"/"+via, func(t *testing.T) {
					srv := pkiServer(t, w.leaf.TLS, true, nil, func(c *tls.Config) {
						c.ClientAuth = tls.RequireAndVerifyClientCert
						c.ClientCAs = testpki.Pool(clientCA)
						c.MaxVersion = version
					})
					cert := client.TLS
					cert.PrivateKey = &hsmKey{pub: client.Key.Public(), err: tc.err}
					tc2 := &tls.Config{}
					if via == "Certificates" {
						tc2.Certificates = []tls.Certificate{cert}
					} else {
						tc2.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
					}
					b := pkiBase(t, transport.BaseConfig{TLSConfig: tc2}, srv, w.ca)
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
					if len(errs) != tc.attempts {
						t.Errorf("%d attempts, want %d: %v", len(errs), tc.attempts, errs)
					}
					v := transport.Classify(context.Background(), nil, errs[0], time.Now())
					if v.Class != tc.class || v.Breaker != transport.BreakerExcluded {
						t.Errorf("%v classified %+v, want %v, excluded from the breaker", errs[0], v, tc.class)
					}
					if !tc.wantMatch(err) {
						t.Errorf("%v does not match the signer's error %v", err, tc.err)
					}
					if transport.IsCertificateError(err) {
						t.Errorf("%v is a certificate error", err)
					}
					if via == "Certificates" {
						if _, ok := tc2.Certificates[0].PrivateKey.(*hsmKey); !ok {
							t.Errorf("the caller's Certificates were modified: key %T", tc2.Certificates[0].PrivateKey)
						}
					}
				})
			}
		}
	}
}

// goodKey is a working signer of the caller's (not one of crypto/tls's
// own key types): the Base wraps it to keep its failures, and the
// handshake signs with it as before.
type goodKey struct{ crypto.Signer }

func TestClientKeyCustomSignerWorks(t *testing.T) {
	w := newPKIWorld(t)
	clientCA := pkiMust(testpki.NewCA("client root"))
	client := pkiMust(clientCA.Client("svc"))
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		srv := pkiServer(t, w.leaf.TLS, true, nil, func(c *tls.Config) {
			c.ClientAuth = tls.RequireAndVerifyClientCert
			c.ClientCAs = testpki.Pool(clientCA)
			c.MaxVersion = version
		})
		cert := client.TLS
		cert.PrivateKey = goodKey{client.Key}
		b := pkiBase(t, transport.BaseConfig{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}, srv, w.ca)
		resp, body, err := pkiGet(t, b, "https://api.example.test/")
		if err != nil || body != "ok" || resp.TLS.Version != version {
			t.Fatalf("%s: %v %q", tls.VersionName(version), err, body)
		}
	}
}
