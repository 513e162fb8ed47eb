package transport_test

import (
	"crypto/tls"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// A rotation that rewrites the chain file in place can be read while only
// the leaf and part of the intermediate are written. crypto/tls's
// X509KeyPair stops at the first block it cannot decode, so such a file
// parses as a valid pair with the intermediate silently missing. Installing
// it would make every handshake with a server that needs the intermediate
// fail (it trusts only the root) until the next check: the reload must be
// refused and reported, and the last good pair kept.
func TestClientCertificateReloadRefusesTruncatedChain(t *testing.T) {
	w := newPKIWorld(t)
	root := pkiMust(testpki.NewCA("client root"))
	mid := pkiMust(root.Intermediate("client intermediate"))
	a := pkiMust(mid.Client("svc-a"))
	b := pkiMust(mid.Client("svc-b"))

	var mu sync.Mutex
	var seen []string
	srv := pkiServer(t, w.leaf.TLS, false, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		name := "?"
		switch r.TLS.PeerCertificates[0].SerialNumber.String() {
		case a.Cert.SerialNumber.String():
			name = "A"
		case b.Cert.SerialNumber.String():
			name = "B"
		}
		mu.Lock()
		seen = append(seen, name)
		mu.Unlock()
		io.WriteString(rw, "ok")
	}), func(c *tls.Config) {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = testpki.Pool(root) // the intermediate must come from the client
	})

	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	if err := a.WriteFiles(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	var log reloadLog
	cc := pkiMust(transport.NewClientCertificateFromFiles(certFile, keyFile,
		transport.WithCertificateReloadInterval(time.Nanosecond), transport.WithCertificateReloadHook(log.hook)))
	base := pkiBase(t, transport.BaseConfig{ClientCertificate: cc}, srv, w.ca)
	call := func() {
		t.Helper()
		if _, body, err := pkiGet(t, base, "https://api.example.test/"); err != nil || body != "ok" {
			t.Fatalf("GET: %q, %v", body, err)
		}
	}
	call() // A

	// The key is written first, then the chain file, read half-way through
	// its second block (the intermediate).
	if err := os.WriteFile(keyFile, b.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	leafLen := len(pemOf(b.Chain[0].Raw))
	if err := os.WriteFile(certFile, b.CertPEM[:leafLen+(len(b.CertPEM)-leafLen)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	base.CloseIdleConnections()
	call() // still A: the truncated chain is refused
	errs := log.all()
	if len(errs) == 0 || errs[len(errs)-1] == nil {
		t.Fatalf("reload hook after a truncated chain file: %v, want an error", errs)
	}
	if got := cc.Certificate(); got.Leaf.SerialNumber.Cmp(a.Cert.SerialNumber) != 0 {
		t.Fatalf("certificate in use after a truncated chain file: serial %v, want A's", got.Leaf.SerialNumber)
	}

	if err := os.WriteFile(certFile, b.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	call() // B, with its intermediate
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"A", "A", "B"}; !slices.Equal(seen, want) {
		t.Fatalf("server saw %v, want %v", seen, want)
	}
	if n := len(cc.Certificate().Certificate); n != 2 {
		t.Fatalf("chain presented after the rotation has %d certificates, want 2", n)
	}
}

// A PEM pair with a truncated CERTIFICATE block is refused by the
// constructors and Update too, naming the certificate.
func TestClientCertificateRefusesTruncatedChainPEM(t *testing.T) {
	root := pkiMust(testpki.NewCA("client root"))
	mid := pkiMust(root.Intermediate("client intermediate"))
	leaf := pkiMust(mid.Client("svc"))
	leafLen := len(pemOf(leaf.Chain[0].Raw))
	truncated := leaf.CertPEM[:leafLen+(len(leaf.CertPEM)-leafLen)/2]

	_, err := transport.NewClientCertificateFromPEM(truncated, leaf.KeyPEM)
	if ce, ok := err.(*transport.ConfigError); !ok || ce.Option != "certPEM" {
		t.Fatalf("NewClientCertificateFromPEM(truncated chain) = %v, want a *ConfigError for certPEM", err)
	}
	cc := pkiMust(transport.NewClientCertificateFromPEM(leaf.CertPEM, leaf.KeyPEM))
	if err := cc.Update(truncated, leaf.KeyPEM); err == nil {
		t.Fatal("Update(truncated chain) = nil, want an error")
	}
	if n := len(cc.Certificate().Certificate); n != 2 {
		t.Fatalf("chain after a refused Update has %d certificates, want 2", n)
	}
}

// pemOf returns der as one PEM CERTIFICATE block.
func pemOf(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
