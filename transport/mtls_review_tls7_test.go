package transport_test

import (
	"crypto/tls"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// A caller's TLSConfig.ClientSessionCache must not let a connection made
// after a client certificate rotation resume a session of the old
// certificate: a resumed handshake presents no certificate, so the server
// would keep authenticating the client with the rotated-away (possibly
// compromised or revoked) one for the ticket's lifetime.
func TestClientCertificateRotationNotResumedFromSessionCache(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			m := newMTLSWorld(t, false)
			cc := pkiMust(transport.NewClientCertificateFromFiles(m.certFile, m.keyFile,
				transport.WithCertificateReloadInterval(time.Hour)))
			b := pkiBase(t, transport.BaseConfig{
				ClientCertificate: cc,
				DialContext:       pkiDialTo(m.srv),
				TLSConfig: &tls.Config{
					ClientSessionCache: tls.NewLRUClientSessionCache(8),
					MinVersion:         v, MaxVersion: v,
				},
			}, nil, m.pki.ca)
			m.call(t, b, "/") // A, full handshake; the session is cached
			b.CloseIdleConnections()
			m.call(t, b, "/") // A again, resumed (cache works)
			if err := m.b.WriteFiles(m.certFile, m.keyFile); err != nil {
				t.Fatal(err)
			}
			if err := cc.Reload(); err != nil {
				t.Fatal(err)
			}
			m.call(t, b, "/") // must be B
			b.CloseIdleConnections()
			m.call(t, b, "/") // B, may resume B's session
			if got, want := m.seen(), []string{"A", "A", "B", "B"}; !slices.Equal(got, want) {
				t.Fatalf("server saw %v, want %v", got, want)
			}
		})
	}
}

// A certificate or key path that turns into a FIFO (a planted file, or a
// process-substitution /dev/fd path whose writer is gone) must make a
// reload fail, not block it forever in open(2) while it holds the lock
// every later Reload and Update need (and, for an automatic reload, inside
// a TLS handshake).
func TestClientCertificateReloadFIFODoesNotBlock(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no FIFOs")
	}
	m := newMTLSWorld(t, false)
	cc := pkiMust(transport.NewClientCertificateFromFiles(m.certFile, m.keyFile,
		transport.WithCertificateReloadInterval(time.Hour)))
	if err := os.Remove(m.certFile); err != nil {
		t.Fatal(err)
	}
	if err := mkfifo(m.certFile); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cc.Reload() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Reload of a FIFO succeeded")
		}
	case <-time.After(10 * time.Second):
		// Unblock the stuck open so the test can finish.
		if w, err := os.OpenFile(m.certFile, os.O_WRONLY|os.O_APPEND, 0); err == nil {
			w.Close()
		}
		<-done
		t.Fatal("Reload blocked on a FIFO")
	}
	if got := cc.Certificate().Leaf.SerialNumber; got.Cmp(m.a.Cert.SerialNumber) != 0 {
		t.Fatal("the certificate in use changed")
	}
}

// Two Base transports with different client certificates may be given the
// same TLSConfig, and so the same ClientSessionCache: one must never
// resume a session the other made, or the server would authenticate its
// calls as the other's certificate.
func TestClientSessionCacheSharedBetweenBasesKeepsCertificatesApart(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			m := newMTLSWorld(t, false)
			ccA := pkiMust(transport.NewClientCertificateFromFiles(m.certFile, m.keyFile,
				transport.WithCertificateReloadInterval(time.Hour)))
			dir := t.TempDir()
			certB, keyB := dir+"/b.crt", dir+"/b.key"
			if err := m.b.WriteFiles(certB, keyB); err != nil {
				t.Fatal(err)
			}
			ccB := pkiMust(transport.NewClientCertificateFromFiles(certB, keyB,
				transport.WithCertificateReloadInterval(time.Hour)))
			shared := &tls.Config{
				ClientSessionCache: tls.NewLRUClientSessionCache(8),
				MinVersion:         v, MaxVersion: v,
			}
			bA := pkiBase(t, transport.BaseConfig{ClientCertificate: ccA, DialContext: pkiDialTo(m.srv), TLSConfig: shared}, nil, m.pki.ca)
			bB := pkiBase(t, transport.BaseConfig{ClientCertificate: ccB, DialContext: pkiDialTo(m.srv), TLSConfig: shared}, nil, m.pki.ca)
			m.call(t, bA, "/")
			m.call(t, bB, "/")
			if got, want := m.seen(), []string{"A", "B"}; !slices.Equal(got, want) {
				t.Fatalf("server saw %v, want %v", got, want)
			}
		})
	}
}
