package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/securecall/securecall/internal/testpki"
)

// skewWorld is a server requiring client certificates of clientCA, and a
// file-based client certificate, both on a clock the test moves forward
// (the server's tls.Config.Time, the certificate's clock), so that a
// certificate's NotBefore can be reached without waiting.
type skewWorld struct {
	skew     atomic.Int64 // added to time.Now on both sides
	clientCA *testpki.CA
	certFile string
	keyFile  string
	srv      *httptest.Server
	serverCA *testpki.CA

	mu   sync.Mutex
	seen []string // the CommonName presented on each request
	errs []error  // reload hook calls
}

func (w *skewWorld) now() time.Time { return time.Now().Add(time.Duration(w.skew.Load())) }

func newSkewWorld(t *testing.T) *skewWorld {
	t.Helper()
	w := &skewWorld{}
	var err error
	if w.serverCA, err = testpki.NewCA("server root"); err != nil {
		t.Fatal(err)
	}
	srvLeaf, err := w.serverCA.Server("api.example.test")
	if err != nil {
		t.Fatal(err)
	}
	if w.clientCA, err = testpki.NewCA("client root"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w.certFile, w.keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	w.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.seen = append(w.seen, r.TLS.PeerCertificates[0].Subject.CommonName)
		w.mu.Unlock()
		io.WriteString(rw, "ok")
	}))
	w.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	w.srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{srvLeaf.TLS},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    testpki.Pool(w.clientCA),
		Time:         w.now,
	}
	w.srv.StartTLS()
	t.Cleanup(w.srv.Close)
	return w
}

func (w *skewWorld) leaf(t *testing.T, name string, notBefore, notAfter time.Time) *testpki.Leaf {
	t.Helper()
	l, err := w.clientCA.Issue(testpki.LeafOptions{Names: []string{name}, Client: true, NotBefore: notBefore, NotAfter: notAfter})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (w *skewWorld) hook(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.errs = append(w.errs, err)
}

func (w *skewWorld) hookCalls() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.errs)
}

func (w *skewWorld) presented() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.seen)
}

// clientCert loads the files with a reload on every request, on the
// world's clock.
func (w *skewWorld) clientCert(t *testing.T) *ClientCertificate {
	t.Helper()
	cc, err := NewClientCertificateFromFiles(w.certFile, w.keyFile,
		WithCertificateReloadInterval(time.Nanosecond), WithCertificateReloadHook(w.hook))
	if err != nil {
		t.Fatal(err)
	}
	cc.clk = clock{Now: w.now, Mono: func(now time.Time) int64 {
		return monoTicks(now.Add(-time.Duration(w.skew.Load())))
	}}
	return cc
}

func (w *skewWorld) base(t *testing.T, cc *ClientCertificate, mp *sdkmetric.MeterProvider) *Base {
	t.Helper()
	var d net.Dialer
	addr := w.srv.Listener.Addr().String()
	cfg := BaseConfig{
		ClientCertificate: cc,
		TLSConfig:         &tls.Config{RootCAs: testpki.Pool(w.serverCA)},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}
	if mp != nil {
		cfg.MeterProvider = mp
	}
	b, err := NewBase(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.CloseIdleConnections)
	return b
}

func (w *skewWorld) get(b *Base) error {
	resp, err := (&http.Client{Transport: b}).Get("https://api.example.test/")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func reloadOutcomes(t *testing.T, r *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "securecall.tls.client_certificate.reload" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				v, _ := dp.Attributes.Value("securecall.outcome")
				got[v.AsString()] += dp.Value
			}
		}
	}
	return got
}

// TestClientCertificateNotYetValidWaitsForNotBefore: a renewal written to
// disk before its NotBefore (issued to start a few minutes ahead, or by a
// CA whose clock is ahead) was installed at once, and the server refused
// every handshake until NotBefore, while the certificate it replaced was
// still valid. It is held back, reported (hook: ErrCertificateNotYetValid,
// reload counter: outcome "pending", once), and installed by the first
// check at or after its NotBefore.
func TestClientCertificateNotYetValidWaitsForNotBefore(t *testing.T) {
	w := newSkewWorld(t)
	now := time.Now()
	a := w.leaf(t, "A", now.Add(-time.Hour), now.Add(24*time.Hour))
	b := w.leaf(t, "B", now.Add(time.Hour), now.Add(48*time.Hour))
	if err := a.WriteFiles(w.certFile, w.keyFile); err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	cc := w.clientCert(t)
	base := w.base(t, cc, sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err := w.get(base); err != nil {
		t.Fatal(err)
	}

	if err := b.WriteFiles(w.certFile, w.keyFile); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		base.CloseIdleConnections() // every call handshakes
		if err := w.get(base); err != nil {
			t.Fatalf("call %d with a renewal valid only in an hour on disk: %v", i, err)
		}
	}
	if got := cc.Certificate().Leaf.Subject.CommonName; got != "A" {
		t.Fatalf("certificate in use %q before the renewal's NotBefore, want A", got)
	}
	errs := w.hookCalls()
	if len(errs) != 1 || !errors.Is(errs[0], ErrCertificateNotYetValid) {
		t.Fatalf("reload hook calls %v, want one ErrCertificateNotYetValid", errs)
	}
	if got := reloadOutcomes(t, reader); got["pending"] != 1 || got["success"] != 0 || got["failure"] != 0 {
		t.Fatalf("reload counter %v, want pending 1", got)
	}

	w.skew.Store(int64(time.Hour + time.Minute)) // both clocks past B's NotBefore
	if err := w.get(base); err != nil {
		t.Fatalf("call after the renewal's NotBefore: %v", err)
	}
	if got, want := w.presented(), []string{"A", "A", "A", "A", "B"}; !slices.Equal(got, want) {
		t.Fatalf("server saw %v, want %v", got, want)
	}
	if errs := w.hookCalls(); len(errs) != 2 || errs[1] != nil {
		t.Fatalf("reload hook calls %v, want nil last (installed)", errs)
	}
	if got := reloadOutcomes(t, reader); got["pending"] != 1 || got["success"] != 1 || got["failure"] != 0 {
		t.Fatalf("reload counter %v, want pending 1, success 1", got)
	}
}

// TestClientCertificateNotYetValidReplacesExpired: with no valid
// certificate in use (the current one expired while its renewal was
// pending, or it has already expired when the renewal appears), the
// renewal is installed at once, not yet valid: a server refuses an
// expired certificate for sure, while one whose clock is ahead of ours
// may accept the renewal.
func TestClientCertificateNotYetValidReplacesExpired(t *testing.T) {
	w := newSkewWorld(t)
	now := time.Now()
	a := w.leaf(t, "A", now.Add(-time.Hour), now.Add(30*time.Minute))
	b := w.leaf(t, "B", now.Add(time.Hour), now.Add(48*time.Hour))
	if err := a.WriteFiles(w.certFile, w.keyFile); err != nil {
		t.Fatal(err)
	}
	cc := w.clientCert(t)
	if err := b.WriteFiles(w.certFile, w.keyFile); err != nil {
		t.Fatal(err)
	}
	if err := cc.Reload(); !errors.Is(err, ErrCertificateNotYetValid) {
		t.Fatalf("Reload of a renewal not yet valid: %v", err)
	}
	if got := cc.Certificate().Leaf.Subject.CommonName; got != "A" {
		t.Fatalf("certificate in use %q, want A", got)
	}
	w.skew.Store(int64(45 * time.Minute)) // A expired, B not yet valid
	if _, err := cc.GetClientCertificate(nil); err != nil {
		t.Fatal(err)
	}
	if got := cc.Certificate().Leaf.Subject.CommonName; got != "B" {
		t.Fatalf("certificate in use %q after A expired, want B", got)
	}
	if errs := w.hookCalls(); len(errs) != 2 || errs[1] != nil {
		t.Fatalf("reload hook calls %v, want the pending report, then nil (installed)", errs)
	}

	// Already expired when the renewal appears: installed by that reload.
	c := w.leaf(t, "C", now.Add(-time.Hour), now.Add(50*time.Minute))
	d := w.leaf(t, "D", now.Add(2*time.Hour), now.Add(48*time.Hour))
	w.skew.Store(0)
	if err := c.WriteFiles(w.certFile, w.keyFile); err != nil {
		t.Fatal(err)
	}
	cc = w.clientCert(t)
	w.skew.Store(int64(time.Hour))
	if err := d.WriteFiles(w.certFile, w.keyFile); err != nil {
		t.Fatal(err)
	}
	if err := cc.Reload(); err != nil {
		t.Fatalf("Reload of a renewal not yet valid over an expired certificate: %v", err)
	}
	if got := cc.Certificate().Leaf.Subject.CommonName; got != "D" {
		t.Fatalf("certificate in use %q, want D", got)
	}
}

// TestClientCertificatePendingDroppedWhenFilesChange: the files are the
// truth: a pending renewal replaced on disk by a valid certificate is
// forgotten (the valid one is installed at once and stays).
func TestClientCertificatePendingDroppedWhenFilesChange(t *testing.T) {
	w := newSkewWorld(t)
	now := time.Now()
	a := w.leaf(t, "A", now.Add(-time.Hour), now.Add(24*time.Hour))
	b := w.leaf(t, "B", now.Add(time.Hour), now.Add(48*time.Hour))
	c := w.leaf(t, "C", now.Add(-time.Minute), now.Add(24*time.Hour))
	if err := a.WriteFiles(w.certFile, w.keyFile); err != nil {
		t.Fatal(err)
	}
	cc := w.clientCert(t)
	if err := b.WriteFiles(w.certFile, w.keyFile); err != nil {
		t.Fatal(err)
	}
	if err := cc.Reload(); !errors.Is(err, ErrCertificateNotYetValid) {
		t.Fatalf("Reload of a renewal not yet valid: %v", err)
	}
	if err := c.WriteFiles(w.certFile, w.keyFile); err != nil {
		t.Fatal(err)
	}
	if err := cc.Reload(); err != nil {
		t.Fatal(err)
	}
	w.skew.Store(int64(2 * time.Hour)) // B's NotBefore passed: B is no longer on disk
	if err := cc.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := cc.Certificate().Leaf.Subject.CommonName; got != "C" {
		t.Fatalf("certificate in use %q, want C", got)
	}
}
