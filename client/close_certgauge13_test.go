package client_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// certExpirySeries counts the series of the client certificate expiry
// gauge in one collection.
func certExpirySeries(t *testing.T, r *sdkmetric.ManualReader) int {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == transport.MetricClientCertificateExpiry {
				n += len(m.Data.(metricdata.Gauge[int64]).DataPoints)
			}
		}
	}
	return n
}

// TestCloseStopsClientCertificateExpiryGauge: a closed Client kept
// reporting the time left on its client certificate for as long as
// anything referenced it (its callback went only when the garbage
// collector took the base transport), although it presents the
// certificate to no one any more: an alert on the gauge fired for a
// client that was closed, for example one replaced by a client with the
// renewed certificate. Close unregisters the gauge's callback, as it does
// the inventory's. A ClientCertificate shared with a client still open is
// still reported, through that client.
func TestCloseStopsClientCertificateExpiryGauge(t *testing.T) {
	ca, err := testpki.NewCA("client root")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Client("svc")
	if err != nil {
		t.Fatal(err)
	}
	cc, err := transport.NewClientCertificateFromPEM(leaf.CertPEM, leaf.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	newClient := func() *client.Client {
		c, err := client.New(client.WithOrigins("https://api.example.test"), client.WithClientCertificate(cc), client.WithMeterProvider(mp))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c1, c2 := newClient(), newClient()
	if n := certExpirySeries(t, reader); n != 1 {
		t.Fatalf("%d expiry series with two open clients sharing a certificate, want 1", n)
	}
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	if n := certExpirySeries(t, reader); n != 1 {
		t.Fatalf("%d expiry series with one of two clients closed, want 1", n)
	}
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	if n := certExpirySeries(t, reader); n != 0 {
		t.Fatalf("%d expiry series after every client was closed (still referenced), want 0", n)
	}
	if err := c2.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
}
