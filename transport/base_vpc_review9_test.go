package transport_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/transport"
)

// crypto/tls skips VerifyPeerCertificate on resumed sessions. A caller's
// VerifyPeerCertificate in BaseConfig.TLSConfig (say, their own pinning)
// must still decide on every connection, resumed ones included: it is run
// from VerifyConnection when the handshake resumed, with the session's
// certificates and verified chains.
func TestBaseCallerVerifyPeerCertificateRunsOnResumedSessions(t *testing.T) {
	w := newPKIWorld(t)
	srv := pkiServer(t, w.leaf.TLS, false, nil, nil)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			refuse := errors.New("caller's verifier says no")
			var calls, withChains atomic.Int32
			var refusing atomic.Bool
			b := pkiBase(t, transport.BaseConfig{
				TLSConfig: &tls.Config{
					MaxVersion:         v,
					ClientSessionCache: tls.NewLRUClientSessionCache(8),
					VerifyPeerCertificate: func(raw [][]byte, chains [][]*x509.Certificate) error {
						calls.Add(1)
						if len(raw) > 0 && len(chains) > 0 && chains[0][0].Equal(w.leaf.Cert) {
							withChains.Add(1)
						}
						if refusing.Load() {
							return refuse
						}
						return nil
					},
				},
			}, srv, w.ca)
			if _, _, err := pkiGet(t, b, "https://api.example.test/"); err != nil {
				t.Fatal(err)
			}
			b.CloseIdleConnections()
			refusing.Store(true)
			_, _, err := pkiGet(t, b, "https://api.example.test/")
			if !errors.Is(err, refuse) || !transport.IsCertificateError(err) {
				t.Errorf("resumed handshake: err = %v, want the caller's refusal as a certificate error", err)
			}
			if calls.Load() != 2 || withChains.Load() != 2 {
				t.Errorf("VerifyPeerCertificate calls = %d (%d with the certificates and chains), want 2", calls.Load(), withChains.Load())
			}
		})
	}
}
