package transport_test

import (
	"crypto/tls"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// newTestClientCert returns a PEM-based client certificate from a fresh CA.
func newTestClientCert(t testing.TB) *transport.ClientCertificate {
	t.Helper()
	ca := pkiMust(testpki.NewCA("client root"))
	leaf := pkiMust(ca.Client("svc"))
	return pkiMust(transport.NewClientCertificateFromPEM(leaf.CertPEM, leaf.KeyPEM))
}

// mtlsWorld is a server that requires client certificates from clientCA
// and records the serial of the one presented on each request. Requests to
// /slow block until release is closed (after signalling started).
type mtlsWorld struct {
	pki      *pkiWorld
	clientCA *testpki.CA
	a, b     *testpki.Leaf
	certFile string
	keyFile  string

	mu      sync.Mutex
	serials []string
	started chan struct{}
	release chan struct{}
	srv     string // listener address
}

func newMTLSWorld(t *testing.T, h2 bool) *mtlsWorld {
	t.Helper()
	m := &mtlsWorld{pki: newPKIWorld(t), started: make(chan struct{}, 1), release: make(chan struct{})}
	m.clientCA = pkiMust(testpki.NewCA("client root"))
	m.a = pkiMust(m.clientCA.Client("svc-a"))
	m.b = pkiMust(m.clientCA.Client("svc-b"))
	dir := t.TempDir()
	m.certFile, m.keyFile = filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	if err := m.a.WriteFiles(m.certFile, m.keyFile); err != nil {
		t.Fatal(err)
	}
	srv := pkiServer(t, m.pki.leaf.TLS, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.serials = append(m.serials, m.name(r.TLS.PeerCertificates[0].SerialNumber.String()))
		m.mu.Unlock()
		if r.URL.Path == "/slow" {
			m.started <- struct{}{}
			<-m.release
		}
		io.WriteString(w, "ok")
	}), func(c *tls.Config) {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = testpki.Pool(m.clientCA)
	})
	t.Cleanup(func() {
		select {
		case <-m.release:
		default:
			close(m.release)
		}
	})
	m.srv = srv.Listener.Addr().String()
	return m
}

// name maps a serial to "A", "B" or "?".
func (m *mtlsWorld) name(serial string) string {
	switch serial {
	case m.a.Cert.SerialNumber.String():
		return "A"
	case m.b.Cert.SerialNumber.String():
		return "B"
	}
	return "?"
}

func (m *mtlsWorld) seen() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.serials)
}

func (m *mtlsWorld) base(t *testing.T, cc *transport.ClientCertificate, mp *sdkmetric.MeterProvider) *transport.Base {
	t.Helper()
	cfg := transport.BaseConfig{ClientCertificate: cc, DialContext: pkiDialTo(m.srv)}
	if mp != nil {
		cfg.MeterProvider = mp
	}
	return pkiBase(t, cfg, nil, m.pki.ca)
}

func (m *mtlsWorld) call(t *testing.T, b *transport.Base, path string) {
	t.Helper()
	if _, body, err := pkiGet(t, b, "https://api.example.test"+path); err != nil || body != "ok" {
		t.Fatalf("GET %s: %q, %v", path, body, err)
	}
}

// reloadLog records reload hook calls.
type reloadLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *reloadLog) hook(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *reloadLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.errs)
}

func TestClientCertificateRotationKeepsInFlightCalls(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "HTTP/1.1", true: "HTTP/2"}[h2], func(t *testing.T) {
			testRotationKeepsInFlightCalls(t, h2)
		})
	}
}

// testRotationKeepsInFlightCalls: with HTTP/1.1 the in-flight call holds
// its connection, so the next call needs a new one; with HTTP/2 the busy
// connection could carry the next call too, and must not: new calls must
// present the new certificate.
func testRotationKeepsInFlightCalls(t *testing.T, h2 bool) {
	m := newMTLSWorld(t, h2)
	var log reloadLog
	cc := pkiMust(transport.NewClientCertificateFromFiles(m.certFile, m.keyFile,
		transport.WithCertificateReloadInterval(time.Hour), transport.WithCertificateReloadHook(log.hook)))
	b := m.base(t, cc, nil)

	m.call(t, b, "/") // A
	slowDone := make(chan error, 1)
	go func() {
		_, body, err := pkiGet(t, b, "https://api.example.test/slow")
		if err == nil && body != "ok" {
			err = errors.New("slow call body " + body)
		}
		slowDone <- err
	}()
	<-m.started // the slow call is in flight on its connection, with A
	if h2 {
		m.call(t, b, "/") // multiplexed on the busy HTTP/2 connection: A
	}

	if err := m.b.WriteFiles(m.certFile, m.keyFile); err != nil {
		t.Fatal(err)
	}
	if err := cc.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := cc.Certificate().Leaf.SerialNumber; got.Cmp(m.b.Cert.SerialNumber) != 0 {
		t.Fatal("Certificate() is not B after Reload")
	}
	m.call(t, b, "/") // a new connection: B
	m.call(t, b, "/") // reuses it: B

	close(m.release)
	if err := <-slowDone; err != nil {
		t.Fatalf("in-flight call across the rotation: %v", err)
	}
	want := []string{"A", "A", "B", "B"}
	if h2 {
		want = []string{"A", "A", "A", "B", "B"}
	}
	if got := m.seen(); !slices.Equal(got, want) {
		t.Fatalf("server saw %v, want %v", got, want)
	}
	if errs := log.all(); len(errs) != 1 || errs[0] != nil {
		t.Fatalf("reload hook calls = %v", errs)
	}
	// Reload with unchanged files does nothing.
	if err := cc.Reload(); err != nil || len(log.all()) != 1 {
		t.Fatalf("second Reload: %v, hook calls %d", err, len(log.all()))
	}
}

func TestClientCertificateAutomaticReload(t *testing.T) {
	m := newMTLSWorld(t, false)
	reader := sdkmetric.NewManualReader()
	var log reloadLog
	// A 1ns interval makes every request check the files.
	cc := pkiMust(transport.NewClientCertificateFromFiles(m.certFile, m.keyFile,
		transport.WithCertificateReloadInterval(time.Nanosecond), transport.WithCertificateReloadHook(log.hook)))
	b := m.base(t, cc, sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))

	m.call(t, b, "/") // A; the connection stays idle in the pool

	// A rotation that writes the certificate first and the key later: the
	// half-written pair is refused, A stays in use, and the next check
	// retries. It is reported once the files have stayed the same for a
	// second (chainSettleInterval): the key may be written in between.
	if err := os.WriteFile(m.certFile, m.b.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	b.CloseIdleConnections() // force a handshake for the next call
	m.call(t, b, "/")        // still A
	if errs := log.all(); len(errs) != 0 {
		t.Fatalf("reload hook right after half a rotation: %v, want no call yet", errs)
	}
	time.Sleep(time.Second + 100*time.Millisecond) // at least the settle interval on the monotonic clock
	b.CloseIdleConnections()
	m.call(t, b, "/") // still A
	errs := log.all()
	if len(errs) == 0 || errs[len(errs)-1] == nil || !strings.HasPrefix(errs[len(errs)-1].Error(), "transport: ") {
		t.Fatalf("reload hook after half a rotation: %v", errs)
	}
	if err := os.WriteFile(m.keyFile, m.b.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	// No CloseIdleConnections here: the Base closes the idle connection
	// made with A itself once it sees the new certificate.
	m.call(t, b, "/") // B
	m.call(t, b, "/") // B

	if got, want := m.seen(), []string{"A", "A", "A", "B", "B"}; !slices.Equal(got, want) {
		t.Fatalf("server saw %v, want %v", got, want)
	}
	errs = log.all()
	if errs[len(errs)-1] != nil {
		t.Fatalf("last reload: %v", errs[len(errs)-1])
	}
	var ok, failed int64
	for _, dp := range pkiCounter(t, reader, "securecall.tls.client_certificate.reload") {
		switch pkiAttr(dp.Attributes, "securecall.outcome").AsString() {
		case "success":
			ok += dp.Value
		case "failure":
			failed += dp.Value
		}
	}
	if ok != 1 || failed < 1 {
		t.Fatalf("reload counter: success %d failure %d", ok, failed)
	}
}

func TestClientCertificateIntervalAndClose(t *testing.T) {
	m := newMTLSWorld(t, false)
	cc := pkiMust(transport.NewClientCertificateFromFiles(m.certFile, m.keyFile,
		transport.WithCertificateReloadInterval(time.Hour)))
	b := m.base(t, cc, nil)
	m.call(t, b, "/") // A
	if err := m.b.WriteFiles(m.certFile, m.keyFile); err != nil {
		t.Fatal(err)
	}
	b.CloseIdleConnections()
	m.call(t, b, "/") // not due yet: still A on a new handshake

	auto := pkiMust(transport.NewClientCertificateFromFiles(m.certFile, m.keyFile,
		transport.WithCertificateReloadInterval(time.Nanosecond)))
	ab := m.base(t, auto, nil)
	m.call(t, ab, "/") // B (the files hold B now)
	if err := auto.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.a.WriteFiles(m.certFile, m.keyFile); err != nil {
		t.Fatal(err)
	}
	ab.CloseIdleConnections()
	m.call(t, ab, "/") // closed: no automatic reload, still B
	if err := auto.Reload(); err != nil {
		t.Fatal(err)
	}
	m.call(t, ab, "/") // A after an explicit Reload

	if got, want := m.seen(), []string{"A", "A", "B", "B", "A"}; !slices.Equal(got, want) {
		t.Fatalf("server saw %v, want %v", got, want)
	}
}

func TestClientCertificateFromPEMUpdate(t *testing.T) {
	m := newMTLSWorld(t, false)
	var log reloadLog
	cc := pkiMust(transport.NewClientCertificateFromPEM(m.a.CertPEM, m.a.KeyPEM, transport.WithCertificateReloadHook(log.hook)))
	b := m.base(t, cc, nil)
	m.call(t, b, "/") // A
	if err := cc.Update(m.b.CertPEM, m.a.KeyPEM); err == nil {
		t.Fatal("mismatched pair accepted")
	}
	m.call(t, b, "/") // A, same connection
	if err := cc.Reload(); err != nil {
		t.Fatalf("Reload of a PEM certificate: %v", err)
	}
	if err := cc.Update(m.b.CertPEM, m.b.KeyPEM); err != nil {
		t.Fatal(err)
	}
	m.call(t, b, "/") // B: the idle connection with A was closed by the Base
	if got, want := m.seen(), []string{"A", "A", "B"}; !slices.Equal(got, want) {
		t.Fatalf("server saw %v, want %v", got, want)
	}
	if errs := log.all(); len(errs) != 2 || errs[0] == nil || errs[1] != nil {
		t.Fatalf("hook calls %v", errs)
	}
}

func TestClientCertificateWithoutCertificateIsRefused(t *testing.T) {
	m := newMTLSWorld(t, false)
	b := m.base(t, nil, nil)
	_, _, err := pkiGet(t, b, "https://api.example.test/")
	if err == nil {
		t.Fatal("server requiring a client certificate accepted a call without one")
	}
	if !transport.IsCertificateError(err) {
		t.Fatalf("IsCertificateError(%v) = false", err)
	}
}

// TestClientCertificateZeroValue: a ClientCertificate not made by a
// constructor holds no certificate. NewBase must refuse it, and its
// GetClientCertificate must honour the tls.Config contract (a non-nil
// *tls.Certificate): returning nil made crypto/tls dereference it inside
// the handshake goroutine, crashing the process on the first handshake
// with a server that asks for a client certificate.
func TestClientCertificateZeroValue(t *testing.T) {
	zero := &transport.ClientCertificate{}
	if c, err := zero.GetClientCertificate(&tls.CertificateRequestInfo{}); err != nil || c == nil || len(c.Certificate) != 0 {
		t.Fatalf("GetClientCertificate = %v, %v; want an empty, non-nil certificate", c, err)
	}
	_, err := transport.NewBase(transport.BaseConfig{ClientCertificate: zero})
	var ce *transport.ConfigError
	if !errors.As(err, &ce) || ce.Option != "ClientCertificate" {
		t.Fatalf("NewBase with a zero ClientCertificate: %v, want a *ConfigError naming ClientCertificate", err)
	}
}

func TestClientCertificateConstructorErrors(t *testing.T) {
	ca := pkiMust(testpki.NewCA("c"))
	a := pkiMust(ca.Client("a"))
	b := pkiMust(ca.Client("b"))
	dir := t.TempDir()

	if _, err := transport.NewClientCertificateFromPEM([]byte("junk"), a.KeyPEM); err == nil || !strings.Contains(err.Error(), "certPEM: refused: transport: ") {
		t.Fatalf("junk PEM: %v", err)
	}
	if _, err := transport.NewClientCertificateFromPEM(a.CertPEM, b.KeyPEM); err == nil {
		t.Fatal("mismatched pair accepted")
	} else if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), string(b.KeyPEM[40:60])) {
		t.Fatalf("error leaks key material: %v", err)
	}
	if _, err := transport.NewClientCertificateFromFiles(filepath.Join(dir, "none.crt"), filepath.Join(dir, "none.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing files: %v", err)
	}
	if _, err := transport.NewClientCertificateFromFiles("", ""); err == nil {
		t.Fatal("empty file names accepted")
	}
	var ce *transport.ConfigError
	if _, err := transport.NewClientCertificateFromPEM(a.CertPEM, a.KeyPEM, transport.WithCertificateReloadInterval(0)); !errors.As(err, &ce) ||
		ce.Option != "WithCertificateReloadInterval" {
		t.Fatalf("zero interval: %v", err)
	}
	cc := pkiMust(transport.NewClientCertificateFromPEM(a.CertPEM, a.KeyPEM, nil))
	if cc.Certificate().Leaf == nil || cc.Certificate().Leaf.SerialNumber.Cmp(a.Cert.SerialNumber) != 0 {
		t.Fatal("Certificate().Leaf")
	}
}

// Handshakes read the certificate while it is being replaced; run with
// -race.
func TestClientCertificateConcurrentRotation(t *testing.T) {
	ca := pkiMust(testpki.NewCA("c"))
	a := pkiMust(ca.Client("a"))
	b := pkiMust(ca.Client("b"))
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := a.WriteFiles(cf, kf); err != nil {
		t.Fatal(err)
	}
	cc := pkiMust(transport.NewClientCertificateFromFiles(cf, kf, transport.WithCertificateReloadInterval(time.Nanosecond)))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := cc.GetClientCertificate(&tls.CertificateRequestInfo{})
				if err != nil || c == nil || c.Leaf == nil {
					t.Errorf("GetClientCertificate = %v, %v", c, err)
					return
				}
				if s := c.Leaf.SerialNumber; s.Cmp(a.Cert.SerialNumber) != 0 && s.Cmp(b.Cert.SerialNumber) != 0 {
					t.Errorf("unexpected certificate")
					return
				}
			}
		})
	}
	for i := range 20 {
		l := a
		if i%2 == 0 {
			l = b
		}
		if err := l.WriteFiles(cf, kf); err != nil {
			t.Error(err)
		}
		_ = cc.Reload() // may see a half-written pair: must keep the old one
		if err := cc.Update(l.CertPEM, l.KeyPEM); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}

// TestClientCertificateRefusesExpired: a rotation that puts an expired
// certificate on disk (a stale backup restored, a renewal job that copied
// the old file) must keep the certificate in use, as a mismatched pair
// does: every server refuses an expired client certificate, so installing
// it turned a working mTLS client into one whose every new handshake
// fails. An expired certificate is refused at construction and by Update
// too.
func TestClientCertificateRefusesExpired(t *testing.T) {
	ca := pkiMust(testpki.NewCA("c"))
	good := pkiMust(ca.Client("good"))
	old := pkiMust(ca.Issue(testpki.LeafOptions{Names: []string{"old"}, Client: true,
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}))
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := good.WriteFiles(cf, kf); err != nil {
		t.Fatal(err)
	}
	var log reloadLog
	cc := pkiMust(transport.NewClientCertificateFromFiles(cf, kf, transport.WithCertificateReloadHook(log.hook)))
	if err := old.WriteFiles(cf, kf); err != nil {
		t.Fatal(err)
	}
	if err := cc.Reload(); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("Reload of an expired certificate: %v", err)
	}
	if s := cc.Certificate().Leaf.SerialNumber; s.Cmp(good.Cert.SerialNumber) != 0 {
		t.Fatal("expired certificate installed by a reload")
	}
	if errs := log.all(); len(errs) != 1 || errs[0] == nil {
		t.Fatalf("hook calls %v", errs)
	}
	if err := cc.Update(old.CertPEM, old.KeyPEM); err == nil {
		t.Fatal("Update installed an expired certificate")
	}
	if s := cc.Certificate().Leaf.SerialNumber; s.Cmp(good.Cert.SerialNumber) != 0 {
		t.Fatal("expired certificate installed by Update")
	}
	if _, err := transport.NewClientCertificateFromPEM(old.CertPEM, old.KeyPEM); err == nil {
		t.Fatal("NewClientCertificateFromPEM accepted an expired certificate")
	}
	if _, err := transport.NewClientCertificateFromFiles(cf, kf); err == nil {
		t.Fatal("NewClientCertificateFromFiles accepted an expired certificate")
	}
}

// TestClientCertificateEmptyFileNames: a missing file name is a
// configuration mistake and, like every other one, a *ConfigError naming
// the argument.
func TestClientCertificateEmptyFileNames(t *testing.T) {
	for _, tc := range []struct{ cert, key, option string }{
		{"", "k.pem", "certFile"},
		{"c.pem", "", "keyFile"},
	} {
		_, err := transport.NewClientCertificateFromFiles(tc.cert, tc.key)
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.option {
			t.Errorf("NewClientCertificateFromFiles(%q, %q) = %v, want a *ConfigError naming %s", tc.cert, tc.key, err, tc.option)
		}
	}
}
