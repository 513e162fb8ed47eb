package transport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"slices"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// ekuLeaf returns a certificate of w's client CA named name with the
// extended key usages eku (none: the extension is left out), and its key.
func ekuLeaf(t *testing.T, w *skewWorld, name string, eku []x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  eku,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, w.clientCA.Cert, key.Public(), w.clientCA.Key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
}

// TestClientCertificateRefusesNoClientAuthEKU: a rotation that put on
// disk a certificate whose extended key usage leaves out clientAuth (a
// renewal issued from the CA's server profile, serverAuth only) installed
// it in place of the working one, and every new handshake failed: a
// server verifying client certificates refuses it ("bad certificate",
// RFC 5280 section 4.2.1.12). It is refused as an expired certificate is:
// the reload keeps the certificate in use and reports the error (hook,
// counter "failure"); the constructors and Update refuse it too. A
// certificate without the extension (any use), or with clientAuth among
// others, is installed.
func TestClientCertificateRefusesNoClientAuthEKU(t *testing.T) {
	w := newSkewWorld(t)
	now := time.Now()
	a := w.leaf(t, "A", now.Add(-time.Hour), now.Add(24*time.Hour))
	if err := a.WriteFiles(w.certFile, w.keyFile); err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	cc := w.clientCert(t)
	base := w.base(t, cc, sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err := w.get(base); err != nil {
		t.Fatal(err)
	}

	srvCert, srvKey := ekuLeaf(t, w, "S", []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth})
	if err := os.WriteFile(w.certFile, srvCert, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.keyFile, srvKey, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cc.Reload(); err == nil {
		t.Error("Reload of a serverAuth-only certificate: nil error")
	}
	base.CloseIdleConnections()
	if err := w.get(base); err != nil {
		t.Fatalf("call after a serverAuth-only certificate was written: %v", err)
	}
	if got := cc.Certificate().Leaf.Subject.CommonName; got != "A" {
		t.Fatalf("certificate in use %q, want A", got)
	}
	if errs := w.hookCalls(); len(errs) == 0 || errs[len(errs)-1] == nil || errors.Is(errs[len(errs)-1], ErrCertificateNotYetValid) {
		t.Fatalf("reload hook calls %v, want the refusal last", errs)
	}
	if got := reloadOutcomes(t, reader); got["failure"] == 0 || got["success"] != 0 {
		t.Fatalf("reload counter %v, want failures only", got)
	}

	_, err := NewClientCertificateFromPEM(srvCert, srvKey)
	if ce, ok := errors.AsType[*ConfigError](err); !ok || ce.Option != "certPEM" {
		t.Errorf("NewClientCertificateFromPEM(serverAuth only) = %v, want a ConfigError naming certPEM", err)
	}
	_, err = NewClientCertificateFromFiles(w.certFile, w.keyFile)
	if ce, ok := errors.AsType[*ConfigError](err); !ok || ce.Option != "certFile" {
		t.Errorf("NewClientCertificateFromFiles(serverAuth only) = %v, want a ConfigError naming certFile", err)
	}
	if err := cc.Update(srvCert, srvKey); err == nil {
		t.Error("Update(serverAuth only): nil error")
	}

	for _, c := range []struct {
		name string
		eku  []x509.ExtKeyUsage
	}{
		{"NONE", nil},
		{"BOTH", []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}},
		{"ANY", []x509.ExtKeyUsage{x509.ExtKeyUsageAny}},
	} {
		cp, kp := ekuLeaf(t, w, c.name, c.eku)
		if err := cc.Update(cp, kp); err != nil {
			t.Fatalf("Update(%s): %v", c.name, err)
		}
		base.CloseIdleConnections()
		if err := w.get(base); err != nil {
			t.Fatalf("call with %s: %v", c.name, err)
		}
	}
	if got, want := w.presented(), []string{"A", "A", "NONE", "BOTH", "ANY"}; !slices.Equal(got, want) {
		t.Fatalf("server saw %v, want %v", got, want)
	}
}
