package transport_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// Base transports whose TLS configurations share a ClientSessionCache
// (tls.Config.Clone keeps the cache, so configurations cloned from one
// template share it) but present different client certificates, through
// TLSConfig.Certificates or TLSConfig.GetClientCertificate, or none: a
// resumed handshake presents no certificate and the server authenticates
// the connection with the session's, so one Base resuming the other's
// session would be taken for the other's identity.
func TestClientSessionCacheSharedKeepsClientIdentitiesApart(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			m := newMTLSWorld(t, false)
			var mu sync.Mutex
			var seen []string
			srv := pkiServer(t, m.pki.leaf.TLS, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				name := "none"
				if len(r.TLS.PeerCertificates) > 0 {
					name = m.name(r.TLS.PeerCertificates[0].SerialNumber.String())
				}
				mu.Lock()
				seen = append(seen, name)
				mu.Unlock()
				io.WriteString(w, "ok")
			}), func(c *tls.Config) {
				c.ClientAuth = tls.VerifyClientCertIfGiven
				c.ClientCAs = testpki.Pool(m.clientCA)
			})
			static := func(l *testpki.Leaf) func(*tls.Config) {
				return func(c *tls.Config) { c.Certificates = []tls.Certificate{l.TLS} }
			}
			callback := func(l *testpki.Leaf) func(*tls.Config) {
				return func(c *tls.Config) {
					c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &l.TLS, nil }
				}
			}
			none := func(*tls.Config) {}
			for _, tc := range []struct {
				name string
				a, b func(*tls.Config)
				want []string
			}{
				{"Certificates A then B", static(m.a), static(m.b), []string{"A", "B"}},
				{"Certificates A then none", static(m.a), none, []string{"A", "none"}},
				{"none then Certificates A", none, static(m.a), []string{"none", "A"}},
				{"GetClientCertificate A then B", callback(m.a), callback(m.b), []string{"A", "B"}},
				{"Certificates A then GetClientCertificate B", static(m.a), callback(m.b), []string{"A", "B"}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					mu.Lock()
					seen = nil
					mu.Unlock()
					template := &tls.Config{
						RootCAs:            testpki.Pool(m.pki.ca),
						ClientSessionCache: tls.NewLRUClientSessionCache(8),
						MinVersion:         v, MaxVersion: v,
					}
					var bases []*transport.Base
					for _, mod := range []func(*tls.Config){tc.a, tc.b} {
						c := template.Clone()
						mod(c)
						bases = append(bases, pkiBase(t, transport.BaseConfig{TLSConfig: c}, srv))
					}
					for _, b := range bases {
						if _, body, err := pkiGet(t, b, "https://api.example.test/"); err != nil || body != "ok" {
							t.Fatalf("GET: %q, %v", body, err)
						}
					}
					mu.Lock()
					got := slices.Clone(seen)
					mu.Unlock()
					if !slices.Equal(got, tc.want) {
						t.Fatalf("server saw %v, want %v", got, tc.want)
					}
				})
			}
		})
	}
}

// A Base whose client certificate is fixed still resumes its own sessions.
func TestClientSessionCacheStaticCertificateResumes(t *testing.T) {
	m := newMTLSWorld(t, false)
	c := &tls.Config{
		RootCAs:            testpki.Pool(m.pki.ca),
		ClientSessionCache: tls.NewLRUClientSessionCache(8),
		Certificates:       []tls.Certificate{m.a.TLS},
	}
	b := pkiBase(t, transport.BaseConfig{TLSConfig: c, DialContext: pkiDialTo(m.srv)}, nil)
	var resumed []bool
	for range 2 {
		resp, _, err := pkiGet(t, b, "https://api.example.test/")
		if err != nil {
			t.Fatal(err)
		}
		resumed = append(resumed, resp.TLS.DidResume)
		b.CloseIdleConnections()
	}
	if !slices.Equal(resumed, []bool{false, true}) {
		t.Fatalf("DidResume = %v, want [false true]", resumed)
	}
	if got := m.seen(); !slices.Equal(got, []string{"A", "A"}) {
		t.Fatalf("server saw %v", got)
	}
}
