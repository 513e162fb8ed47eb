package transport_test

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// certFingerprint is the gauge's tls.client.hash.sha256 of l: the SHA-256
// of the leaf's DER, upper-case hex.
func certFingerprint(l *testpki.Leaf) string {
	sum := sha256.Sum256(l.Cert.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// checkExpiryByHash checks that dps has one series per leaf, told apart
// by tls.client.hash.sha256, each with its leaf's subject and time left.
func checkExpiryByHash(t *testing.T, what string, dps []metricdata.DataPoint[int64], now time.Time, leaves ...*testpki.Leaf) {
	t.Helper()
	if len(dps) != len(leaves) {
		t.Fatalf("%s: %d series %v, want %d", what, len(dps), dps, len(leaves))
	}
	for _, l := range leaves {
		found := 0
		for _, dp := range dps {
			if pkiAttr(dp.Attributes, "tls.client.hash.sha256").AsString() != certFingerprint(l) {
				continue
			}
			found++
			if got := pkiAttr(dp.Attributes, "tls.client.subject").AsString(); got != l.Cert.Subject.String() {
				t.Errorf("%s: subject %q, want %q", what, got, l.Cert.Subject.String())
			}
			if want := int64(l.Cert.NotAfter.Sub(now) / time.Second); dp.Value != want {
				t.Errorf("%s: certificate %s expires in %d s, want %d", what, certFingerprint(l), dp.Value, want)
			}
		}
		if found != 1 {
			t.Errorf("%s: %d series for certificate %s in %v, want 1", what, found, certFingerprint(l), dps)
		}
	}
}

// TestClientCertificateExpiryGaugeSameSubject: the expiry gauge's only
// attribute was the certificate's subject, so two certificates with the
// same subject (two clients of one service identity on one
// MeterProvider, one renewed and one not; or two TLSConfig.Certificates)
// made one series: one value hid the other, and the certificate about to
// expire could be the one not shown. Each certificate now has its own
// series, told apart by tls.client.hash.sha256 (its SHA-256 fingerprint,
// stable for the life of the certificate; a rotation ends the old
// series). Two Bases sharing one ClientCertificate show it once.
func TestClientCertificateExpiryGaugeSameSubject(t *testing.T) {
	ca := pkiMust(testpki.NewCA("client root"))
	start := time.Now().Add(-time.Hour)
	soon := pkiMust(ca.Issue(testpki.LeafOptions{Names: []string{"svc"}, Client: true, NotBefore: start, NotAfter: start.Add(3 * 24 * time.Hour)}))
	later := pkiMust(ca.Issue(testpki.LeafOptions{Names: []string{"svc"}, Client: true, NotBefore: start, NotAfter: start.Add(90 * 24 * time.Hour)}))
	if soon.Cert.Subject.String() != later.Cert.Subject.String() {
		t.Fatal("test certificates differ in subject")
	}
	now := time.Now()
	nowFn := func() time.Time { return now }

	t.Run("two Bases", func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		ccSoon := pkiMust(transport.NewClientCertificateFromPEM(soon.CertPEM, soon.KeyPEM))
		ccLater := pkiMust(transport.NewClientCertificateFromPEM(later.CertPEM, later.KeyPEM))
		b1 := pkiBase(t, transport.BaseConfig{ClientCertificate: ccSoon, MeterProvider: mp, Now: nowFn}, nil, ca)
		b2 := pkiBase(t, transport.BaseConfig{ClientCertificate: ccLater, MeterProvider: mp, Now: nowFn}, nil, ca)
		checkExpiryByHash(t, "two Bases", expiryPoints(t, reader), now, soon, later)
		b3 := pkiBase(t, transport.BaseConfig{ClientCertificate: ccSoon, MeterProvider: mp, Now: nowFn}, nil, ca)
		checkExpiryByHash(t, "two Bases sharing a ClientCertificate", expiryPoints(t, reader), now, soon, later)
		_, _, _ = b1, b2, b3
	})

	t.Run("TLSConfig.Certificates", func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		pkiBase(t, transport.BaseConfig{TLSConfig: &tls.Config{Certificates: []tls.Certificate{soon.TLS, later.TLS}}, Now: nowFn,
			MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))}, nil, ca)
		checkExpiryByHash(t, "two TLSConfig.Certificates", expiryPoints(t, reader), now, soon, later)
	})
}
