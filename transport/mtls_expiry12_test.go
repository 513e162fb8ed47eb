package transport_test

import (
	"context"
	"crypto/tls"
	"runtime"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// expiryPoints collects the client certificate expiry gauge, or nil when
// it is not there.
func expiryPoints(t *testing.T, r *sdkmetric.ManualReader) []metricdata.DataPoint[int64] {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == transport.MetricClientCertificateExpiry {
				if m.Unit != "s" {
					t.Fatalf("unit %q, want s", m.Unit)
				}
				return m.Data.(metricdata.Gauge[int64]).DataPoints
			}
		}
	}
	return nil
}

func checkExpiry(t *testing.T, what string, dps []metricdata.DataPoint[int64], now time.Time, leaves ...*testpki.Leaf) {
	t.Helper()
	if len(dps) != len(leaves) {
		t.Fatalf("%s: %d series %v, want %d", what, len(dps), dps, len(leaves))
	}
	for _, l := range leaves {
		subject := l.Cert.Subject.String()
		want := int64(l.Cert.NotAfter.Sub(now) / time.Second)
		found := false
		for _, dp := range dps {
			if pkiAttr(dp.Attributes, "tls.client.subject").AsString() == subject {
				found = true
				if dp.Value != want {
					t.Errorf("%s: %s expires in %d s, want %d", what, subject, dp.Value, want)
				}
			}
		}
		if !found {
			t.Errorf("%s: no series for %s in %v", what, subject, dps)
		}
	}
}

// TestClientCertificateExpiryGauge: nothing told that the client
// certificate in use was about to expire (a renewal job that stopped
// working showed only when every handshake failed). The gauge
// securecall.tls.client_certificate.expires_in gives the seconds left
// until its NotAfter, read at collection time (no per-request cost),
// follows a rotation, and exists only when mutual TLS is configured.
func TestClientCertificateExpiryGauge(t *testing.T) {
	m := newMTLSWorld(t, false)
	now := time.Now().Add(time.Hour)
	nowFn := func() time.Time { return now }

	t.Run("files", func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		cc := pkiMust(transport.NewClientCertificateFromFiles(m.certFile, m.keyFile, transport.WithCertificateReloadInterval(time.Hour)))
		b := pkiBase(t, transport.BaseConfig{ClientCertificate: cc, DialContext: pkiDialTo(m.srv), Now: nowFn,
			MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))}, nil, m.pki.ca)
		checkExpiry(t, "before any call", expiryPoints(t, reader), now, m.a)
		if err := m.b.WriteFiles(m.certFile, m.keyFile); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.a.WriteFiles(m.certFile, m.keyFile) })
		if err := cc.Reload(); err != nil {
			t.Fatal(err)
		}
		m.call(t, b, "/")
		checkExpiry(t, "after a rotation", expiryPoints(t, reader), now, m.b)
	})

	t.Run("Certificates", func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		pkiBase(t, transport.BaseConfig{TLSConfig: &tls.Config{Certificates: []tls.Certificate{m.a.TLS}}, Now: nowFn,
			MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))}, nil, m.pki.ca)
		checkExpiry(t, "TLSConfig.Certificates", expiryPoints(t, reader), now, m.a)
	})

	t.Run("GetClientCertificate", func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		get := func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &m.b.TLS, nil }
		b := pkiBase(t, transport.BaseConfig{TLSConfig: &tls.Config{GetClientCertificate: get}, DialContext: pkiDialTo(m.srv), Now: nowFn,
			MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))}, nil, m.pki.ca)
		checkExpiry(t, "before a handshake", expiryPoints(t, reader), now)
		m.call(t, b, "/")
		checkExpiry(t, "after a handshake (the certificate presented)", expiryPoints(t, reader), now, m.b)
	})

	t.Run("no client certificate", func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		pkiBase(t, transport.BaseConfig{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))}, nil, m.pki.ca)
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		for _, sm := range rm.ScopeMetrics {
			for _, mm := range sm.Metrics {
				if mm.Name == transport.MetricClientCertificateExpiry {
					t.Fatalf("expiry gauge without a client certificate: %+v", mm)
				}
			}
		}
	})
}

// TestClientCertificateExpiryGaugeGoesWithTheBase: a Base that is no
// longer referenced stops being observed (its callback is unregistered
// when it is collected), so a process making clients per tenant neither
// keeps them alive through the meter provider nor reports their
// certificates forever.
func TestClientCertificateExpiryGaugeGoesWithTheBase(t *testing.T) {
	ca := pkiMust(testpki.NewCA("client root"))
	leaf := pkiMust(ca.Client("svc"))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	func() {
		cc := pkiMust(transport.NewClientCertificateFromPEM(leaf.CertPEM, leaf.KeyPEM))
		pkiMust(transport.NewBase(transport.BaseConfig{ClientCertificate: cc, MeterProvider: mp}))
	}()
	for i := 0; ; i++ {
		runtime.GC()
		if len(expiryPoints(t, reader)) == 0 {
			return
		}
		if i == 200 {
			t.Fatal("a Base no longer referenced is still observed after 200 collections")
		}
		runtime.Gosched()
	}
}
