package transport

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/securecall/securecall/internal/stackhook"
)

// MetricClientCertificateExpiry is the gauge of the seconds left until the
// NotAfter of the mTLS client certificate in use (negative once it has
// expired), {tls.client.subject, tls.client.hash.sha256}: one series per
// certificate, told apart by its SHA-256 fingerprint (the subject alone
// does not: a renewal, or the certificate of another client of the same
// service, usually has the same). Bases sharing a ClientCertificate report
// its certificate once; a rotation ends the series of the certificate it
// replaced. See BaseConfig.MeterProvider.
const MetricClientCertificateExpiry = "securecall.tls.client_certificate.expires_in"

// certExpiry observes the client certificates of one Base for
// MetricClientCertificateExpiry, at collection time only: nothing of it
// runs per request. It holds no reference to the Base, so that the Base
// can be collected (its cleanup unregisters the callback).
type certExpiry struct {
	now    func() time.Time
	cc     *ClientCertificate // the Base's ClientCertificate, or nil
	static []expirySeries     // the leaves of TLSConfig.Certificates
	last   atomic.Pointer[tls.Certificate]

	mu           sync.Mutex // guards the cache of the series of cached
	cached       *tls.Certificate
	cachedSeries expirySeries
}

// expirySeries is one certificate's series: its NotAfter and attributes.
type expirySeries struct {
	notAfter time.Time
	attrs    metric.MeasurementOption // nil: no leaf that parses
}

// newExpirySeries returns the series of leaf (none for nil).
func newExpirySeries(leaf *x509.Certificate) expirySeries {
	if leaf == nil {
		return expirySeries{}
	}
	sum := sha256.Sum256(leaf.Raw)
	return expirySeries{notAfter: leaf.NotAfter, attrs: metric.WithAttributeSet(attribute.NewSet(
		attribute.String("tls.client.subject", strings.ToValidUTF8(leaf.Subject.String(), "\uFFFD")),
		attribute.String("tls.client.hash.sha256", strings.ToUpper(hex.EncodeToString(sum[:]))),
	))}
}

// registerCertExpiry registers the expiry gauge for the client
// certificates configured in tc (b.cc, tc.Certificates, or those
// tc.GetClientCertificate returns, recorded at each handshake by a wrapper
// it installs). It is called only when mutual TLS is configured, after
// wrapClientKeys and before the Base installs its own
// GetClientCertificate for b.cc.
func (b *Base) registerCertExpiry(meter metric.Meter, tc *tls.Config, now func() time.Time) error {
	if now == nil {
		now = time.Now
	}
	ex := &certExpiry{now: now, cc: b.cc}
	switch {
	case b.cc != nil:
	case tc.GetClientCertificate != nil:
		get := tc.GetClientCertificate
		tc.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c, err := get(cri)
			if err == nil && c != nil && len(c.Certificate) > 0 && ex.last.Load() != c {
				ex.last.Store(c)
			}
			return c, err
		}
	default:
		for i := range tc.Certificates {
			if leaf := leafOf(&tc.Certificates[i]); leaf != nil {
				ex.static = append(ex.static, newExpirySeries(leaf))
			}
		}
	}
	g, err := meter.Int64ObservableGauge(MetricClientCertificateExpiry,
		metric.WithDescription("Seconds until the NotAfter of the mTLS client certificate in use (negative once expired)"),
		metric.WithUnit("s"))
	if err != nil {
		return configErrorf("MeterProvider", err, "gauge %s", MetricClientCertificateExpiry)
	}
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		ex.observe(o, g)
		return nil
	}, g)
	if err != nil {
		return configErrorf("MeterProvider", err, "callback %s", MetricClientCertificateExpiry)
	}
	b.expiry = &gaugeRegistration{reg: reg}
	runtime.AddCleanup(b, (*gaugeRegistration).unregister, b.expiry)
	return nil
}

// gaugeRegistration is a metric callback's registration, unregistered
// once: when its Base is collected, or before, when the client.Client the
// Base belongs to is closed (stackhook.StopBaseMetrics). It holds no
// reference to the Base.
type gaugeRegistration struct {
	reg  metric.Registration
	done atomic.Bool
}

func (g *gaugeRegistration) unregister() {
	if !g.done.Swap(true) {
		_ = g.reg.Unregister()
	}
}

func init() {
	stackhook.StopBaseMetrics = func(rt http.RoundTripper) bool {
		b, ok := rt.(*Base)
		if ok && b.expiry != nil {
			b.expiry.unregister()
		}
		return ok
	}
}

func (ex *certExpiry) observe(o metric.Observer, g metric.Int64ObservableGauge) {
	now := ex.now()
	put := func(s expirySeries) {
		if s.attrs != nil {
			o.ObserveInt64(g, int64(s.notAfter.Sub(now)/time.Second), s.attrs)
		}
	}
	switch {
	case ex.cc != nil:
		if c := ex.cc.Certificate(); c != nil {
			put(ex.series(c))
		}
	case len(ex.static) > 0:
		for _, s := range ex.static {
			put(s)
		}
	default:
		if c := ex.last.Load(); c != nil {
			put(ex.series(c))
		}
	}
}

// series returns c's series, computed again only when c is not the
// certificate of the previous collection (a rotation).
func (ex *certExpiry) series(c *tls.Certificate) expirySeries {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if ex.cached != c {
		ex.cached, ex.cachedSeries = c, newExpirySeries(leafOf(c))
	}
	return ex.cachedSeries
}

// leafOf returns c's parsed leaf, or nil when it has none that parses.
func leafOf(c *tls.Certificate) *x509.Certificate {
	if c.Leaf != nil {
		return c.Leaf
	}
	if len(c.Certificate) == 0 {
		return nil
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil
	}
	return leaf
}
