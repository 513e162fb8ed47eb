package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/internal/testpki"
)

func TestNewBaseTransportSettings(t *testing.T) {
	b, err := NewBase(BaseConfig{})
	if err != nil {
		t.Fatal(err)
	}
	tr := b.t.Load()
	if tr == http.DefaultTransport {
		t.Fatal("shares http.DefaultTransport")
	}
	if tr.Proxy != nil {
		t.Fatal("Proxy set without being configured (inherited ProxyFromEnvironment)")
	}
	if !tr.ForceAttemptHTTP2 || tr.DialTLSContext != nil || tr.DialContext == nil {
		t.Fatal("HTTP/2 or dialer settings")
	}
	if tr.TLSClientConfig.MinVersion != tls.VersionTLS12 || tr.TLSClientConfig.InsecureSkipVerify {
		t.Fatalf("TLS config %+v", tr.TLSClientConfig)
	}
	if tr.TLSHandshakeTimeout != DefaultTLSHandshakeTimeout || tr.IdleConnTimeout != DefaultIdleConnTimeout ||
		tr.MaxIdleConnsPerHost != DefaultMaxIdleConnsPerHost {
		t.Fatalf("defaults not applied: %v %v %d", tr.TLSHandshakeTimeout, tr.IdleConnTimeout, tr.MaxIdleConnsPerHost)
	}
	b2, err := NewBase(BaseConfig{TLSHandshakeTimeout: time.Second, IdleConnTimeout: 2 * time.Second, MaxIdleConnsPerHost: 3})
	if err != nil {
		t.Fatal(err)
	}
	if b2.t.Load().TLSHandshakeTimeout != time.Second || b2.t.Load().IdleConnTimeout != 2*time.Second || b2.t.Load().MaxIdleConnsPerHost != 3 {
		t.Fatal("configured values not applied")
	}
	if tr.TLSClientConfig == b2.t.Load().TLSClientConfig || tr.TLSClientConfig == b.proto.TLSClientConfig {
		t.Fatal("tls.Config shared between transports")
	}
}

// A report-only verdict missing from the cache (evicted, or the response
// came over a connection checked before) is recomputed from the
// connection state.
func TestPinReportRecomputesOnCacheMiss(t *testing.T) {
	ca, _ := testpki.NewCA("root")
	leaf, _ := ca.Server("api.example.test")
	evilCA, _ := testpki.NewCA("evil")
	evil, _ := evilCA.Server("api.example.test")
	p, err := newPinner([]PinSet{{Host: "api.example.test", Pins: []string{testpki.Pin(leaf.Cert), testpki.Pin(ca.Cert)}, ReportOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	p.now = time.Now
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	for _, tc := range []struct {
		chain []*x509.Certificate
		want  int
	}{{[]*x509.Certificate{evil.Cert, evilCA.Cert}, 1}, {[]*x509.Certificate{leaf.Cert, ca.Cert}, 0}} {
		cs := &tls.ConnectionState{ServerName: "api.example.test", PeerCertificates: tc.chain[:1], VerifiedChains: [][]*x509.Certificate{tc.chain}}
		for range 2 { // a miss, then a hit
			_, span := tp.Tracer("t").Start(context.Background(), "s")
			p.report(span, cs)
			span.End()
			ended := rec.Ended()
			if got := len(ended[len(ended)-1].Events()); got != tc.want {
				t.Fatalf("%d events, want %d", got, tc.want)
			}
		}
	}
}

func TestPinVerdictCacheIsBounded(t *testing.T) {
	p, err := newPinner([]PinSet{{Host: "a.example.test", Pins: []string{pinOf(1), pinOf(2)}, ReportOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	set := p.exact["a.example.test"]
	for range 3 * maxPinVerdicts {
		c := &x509.Certificate{}
		p.remember(set, &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{c}}}, &pinVerdict{})
	}
	n := 0
	p.verdicts.Range(func(any, any) bool { n++; return true })
	if n > maxPinVerdicts || n == 0 {
		t.Fatalf("%d cached verdicts, bound %d", n, maxPinVerdicts)
	}
}

func pinOf(b byte) string {
	var h [32]byte
	h[0] = b
	return SPKIPin(&x509.Certificate{RawSubjectPublicKeyInfo: h[:]})
}

func TestBaseRotationRetiresTransports(t *testing.T) {
	ca, _ := testpki.NewCA("c")
	a, _ := ca.Client("a")
	cc, err := NewClientCertificateFromPEM(a.CertPEM, a.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBase(BaseConfig{ClientCertificate: cc})
	if err != nil {
		t.Fatal(err)
	}
	first := b.t.Load()
	b.syncClientCertificate() // no change: same transport
	if b.t.Load() != first || len(b.retired) != 0 {
		t.Fatal("transport replaced without a rotation")
	}
	for i := range maxRetiredTransports + 2 {
		l, _ := ca.Client("rot")
		if err := cc.Update(l.CertPEM, l.KeyPEM); err != nil {
			t.Fatal(err)
		}
		prev := b.t.Load()
		b.syncClientCertificate()
		if b.t.Load() == prev {
			t.Fatalf("rotation %d: transport not replaced", i)
		}
		if b.t.Load().TLSClientConfig == prev.TLSClientConfig {
			t.Fatal("tls.Config shared between transports")
		}
	}
	if len(b.retired) != maxRetiredTransports || b.retired[0] == first {
		t.Fatalf("%d retired transports, bound %d", len(b.retired), maxRetiredTransports)
	}
	b.CloseIdleConnections()
}

// A program (or a dependency) may have changed http.DefaultTransport; the
// changes must not weaken or bypass the Base cloned from it.
func TestNewBaseResetsTamperedDefaultTransport(t *testing.T) {
	ca, _ := testpki.NewCA("root")
	leaf, _ := ca.Server("127.0.0.1")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	srv.StartTLS()
	defer srv.Close()

	saved := http.DefaultTransport
	defer func() { http.DefaultTransport = saved }()
	bypass := errors.New("tampered dialer used")
	http.DefaultTransport = &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		DialTLSContext: func(context.Context, string, string) (net.Conn, error) {
			return nil, bypass
		},
		Proxy:        http.ProxyURL(&url.URL{Scheme: "http", Host: "proxy.invalid:3128"}),
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}, // disables HTTP/2
	}
	b, err := NewBase(BaseConfig{TLSConfig: &tls.Config{RootCAs: testpki.Pool(ca)}})
	http.DefaultTransport = saved
	if err != nil {
		t.Fatal(err)
	}
	defer b.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := b.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("proto %s, want HTTP/2", resp.Proto)
	}
}

// Pins may match an intermediate, so a report-only verdict holds for the
// whole verified chain, not for its leaf and root: two connections with
// the same leaf and root but another intermediate (a cross-signed path,
// a rotated intermediate) can get different verdicts. Each connection's
// requests must report its own.
func TestPinReportVerdictIsPerWholeChain(t *testing.T) {
	root, _ := testpki.NewCA("root")
	pinned, _ := root.Intermediate("pinned")
	other, _ := root.Intermediate("other")
	leaf, _ := pinned.Server("api.example.test")
	p, err := newPinner([]PinSet{{Host: "api.example.test", Pins: []string{testpki.Pin(pinned.Cert), pinOf(9)}, ReportOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	p.now = time.Now
	p.mismatch, _ = noop.Meter{}.Int64Counter("m")
	p.expired, _ = noop.Meter{}.Int64Counter("e")
	state := func(mid *x509.Certificate) *tls.ConnectionState {
		return &tls.ConnectionState{ServerName: "api.example.test", PeerCertificates: []*x509.Certificate{leaf.Cert, mid},
			VerifiedChains: [][]*x509.Certificate{{leaf.Cert, mid, root.Cert}}}
	}
	good, bad := state(pinned.Cert), state(other.Cert)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	events := func(cs *tls.ConnectionState) int {
		_, span := tp.Tracer("t").Start(context.Background(), "s")
		p.report(span, cs)
		span.End()
		ended := rec.Ended()
		return len(ended[len(ended)-1].Events())
	}
	// Handshakes in either order, then requests over both connections.
	for _, order := range [][]*tls.ConnectionState{{good, bad}, {bad, good}} {
		p.verdicts.Clear()
		p.nverdicts.Store(0)
		for _, cs := range order {
			if err := p.verifyConnection(*cs); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 {
			if n := events(good); n != 0 {
				t.Errorf("chain through the pinned intermediate: %d mismatch events, want 0", n)
			}
			if n := events(bad); n != 1 {
				t.Errorf("chain through another intermediate: %d mismatch events, want 1", n)
			}
		}
	}
}
