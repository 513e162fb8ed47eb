package transport_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// pkiEvents records PinEvents.
type pkiEvents struct {
	mu sync.Mutex
	ev []transport.PinEvent
}

func (e *pkiEvents) add(ev transport.PinEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ev = append(e.ev, ev)
}

func (e *pkiEvents) all() []transport.PinEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]transport.PinEvent(nil), e.ev...)
}

// pkiClock is an adjustable clock for pin expiry.
type pkiClock struct{ ns atomic.Int64 }

func (c *pkiClock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *pkiClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func newPKIClock(t time.Time) *pkiClock { c := &pkiClock{}; c.set(t); return c }

// pkiCounter returns the data points of the int64 counter name.
func pkiCounter(t testing.TB, r *sdkmetric.ManualReader, name string) []metricdata.DataPoint[int64] {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m.Data.(metricdata.Sum[int64]).DataPoints
			}
		}
	}
	return nil
}

func pkiAttr(set attribute.Set, key string) attribute.Value {
	v, _ := set.Value(attribute.Key(key))
	return v
}

func TestSPKIPinMatchesOpenSSL(t *testing.T) {
	// Made with OpenSSL; the pin is what OpenSSL computes:
	// openssl x509 -pubkey -noout | openssl pkey -pubin -outform der |
	//   openssl dgst -sha256 -binary | base64
	const certPEM = `-----BEGIN CERTIFICATE-----
MIIBgjCCASegAwIBAgIUR62+QB1+FWCYZOOJ9b78ajfNAQcwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKcGluIHZlY3RvcjAgFw0yNjExMjcwNTM2MzBaGA8yMTI2MTEw
MzA1MzYzMFowFTETMBEGA1UEAwwKcGluIHZlY3RvcjBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABJAKFhqWHDTrX2AxWx/OakJ1U+q26REokuD2YTPHPiun/OFOPrvD
i1czmic/YKc8uauIyLC6F4D6IIGBTaTv2/CjUzBRMB0GA1UdDgQWBBQtdSeyC8N6
HRjk2BhM7t+UGIpv5jAfBgNVHSMEGDAWgBQtdSeyC8N6HRjk2BhM7t+UGIpv5jAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQCe3nDhdRQZI05ukMpl
swyQW9HvPpKT78EiLIhIPzyLzQIhAOvnB93JtiTu2QyifQz1n3N3cFoAeXnGALSl
oXuE7KOe
-----END CERTIFICATE-----
`
	b, _ := pem.Decode([]byte(certPEM))
	cert := pkiMust(x509.ParseCertificate(b.Bytes))
	if got, want := transport.SPKIPin(cert), "sha256/6rkqTt8cdoSQB1FsK7qk84qu3E27zHg0pt1QmcYDIpQ="; got != want {
		t.Fatalf("SPKIPin = %s, want %s", got, want)
	}
}

func TestPinAnyCertificateOfTheVerifiedChain(t *testing.T) {
	w := newPKIWorld(t)
	root := pkiMust(testpki.NewCA("root"))
	inter := pkiMust(root.Intermediate("intermediate"))
	interLeaf := pkiMust(inter.Server("api.example.test"))
	backup := pkiMust(testpki.RandomPin())

	for _, tc := range []struct {
		name string
		leaf *testpki.Leaf
		ca   *testpki.CA
		pins []string
	}{
		{"leaf pin", w.leaf, w.ca, []string{testpki.Pin(w.leaf.Cert), backup}},
		{"backup pin on the root", w.leaf, w.ca, []string{backup, testpki.Pin(w.ca.Cert)}},
		{"pin on the intermediate", interLeaf, root, []string{backup, testpki.Pin(inter.Cert)}},
		{"pin on the root above an intermediate", interLeaf, root, []string{backup, testpki.Pin(root.Cert)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := pkiServer(t, tc.leaf.TLS, true, nil, nil)
			b := pkiBase(t, transport.BaseConfig{
				Pins: []transport.PinSet{{Host: "api.example.test", Pins: tc.pins}},
			}, srv, tc.ca)
			if _, body, err := pkiGet(t, b, "https://api.example.test/"); err != nil || body != "ok" {
				t.Fatalf("%q, %v", body, err)
			}
		})
	}
}

func TestPinMismatchWithAttackerCA(t *testing.T) {
	w := newPKIWorld(t)
	evil := pkiServer(t, w.attacker.TLS, true, nil, nil)
	roots := &tls.Config{RootCAs: testpki.Pool(w.ca, w.attackerCA)}

	// Control: the attacker's chain is valid for the name, so without pins
	// the client accepts it.
	plain := pkiBase(t, transport.BaseConfig{TLSConfig: roots.Clone()}, evil)
	if _, _, err := pkiGet(t, plain, "https://api.example.test/"); err != nil {
		t.Fatalf("control without pins: %v", err)
	}

	expected := []string{testpki.Pin(w.leaf.Cert), testpki.Pin(w.ca.Cert)}
	var events pkiEvents
	b := pkiBase(t, transport.BaseConfig{
		TLSConfig:  roots.Clone(),
		Pins:       []transport.PinSet{{Host: "api.example.test", Pins: expected}},
		OnPinEvent: events.add,
	}, evil)
	_, _, err := pkiGet(t, b, "https://api.example.test/")
	if !errors.Is(err, transport.ErrPinMismatch) {
		t.Fatalf("err = %v, want ErrPinMismatch", err)
	}
	if _, ok := errors.AsType[*url.Error](err); !ok {
		t.Fatalf("want the *url.Error of http.Client, got %T", err)
	}
	var pme *transport.PinMismatchError
	if !errors.As(err, &pme) {
		t.Fatalf("errors.As(*PinMismatchError) failed for %v", err)
	}
	seen := []string{testpki.Pin(w.attacker.Cert), testpki.Pin(w.attackerCA.Cert)}
	if pme.Host != "api.example.test" || !slices.Equal(pme.Seen, seen) || !slices.Equal(pme.Expected, expected) {
		t.Fatalf("PinMismatchError = %+v", pme)
	}
	msg := err.Error()
	for _, s := range append([]string{"api.example.test"}, seen...) {
		if !strings.Contains(msg, s) {
			t.Fatalf("error %q does not name %s", msg, s)
		}
	}
	if !strings.HasPrefix(pme.Error(), "transport: ") {
		t.Fatalf("message %q", pme.Error())
	}
	if !transport.IsCertificateError(err) {
		t.Fatal("IsCertificateError = false for a pin mismatch")
	}
	ev := events.all()
	if len(ev) != 1 || ev[0].Kind != transport.PinEventMismatch || ev[0].ReportOnly || ev[0].Host != "api.example.test" ||
		!slices.Equal(ev[0].Seen, seen) {
		t.Fatalf("events = %+v", ev)
	}
}

// An attacker may append the pinned certificates to the chain it presents
// (OkHttp CVE-2016-2402); they are not part of the verified chain and must
// not satisfy the pins.
func TestPinIgnoresPresentedButUnverifiedCertificates(t *testing.T) {
	w := newPKIWorld(t)
	forged := w.attacker.TLS
	forged.Certificate = append(slices.Clone(forged.Certificate), w.leaf.Cert.Raw, w.ca.Cert.Raw)
	var presented atomic.Int32
	evil := pkiServer(t, forged, false, nil, nil)
	b := pkiBase(t, transport.BaseConfig{
		TLSConfig: &tls.Config{
			RootCAs: testpki.Pool(w.ca, w.attackerCA),
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				presented.Store(int32(len(raw)))
				return nil
			},
		},
		Pins: []transport.PinSet{{Host: "api.example.test", Pins: []string{testpki.Pin(w.leaf.Cert), testpki.Pin(w.ca.Cert)}}},
	}, evil)
	_, _, err := pkiGet(t, b, "https://api.example.test/")
	if !errors.Is(err, transport.ErrPinMismatch) {
		t.Fatalf("err = %v, want ErrPinMismatch", err)
	}
	if presented.Load() != 3 {
		t.Fatalf("server presented %d certificates, want 3 (the pinned ones appended)", presented.Load())
	}
}

func TestPinHostPatterns(t *testing.T) {
	w := newPKIWorld(t)
	names := []string{"api.example.test", "exact.example.test", "example.test", "a.b.example.test", "other.test"}
	evilLeaf := pkiMust(w.attackerCA.Server(names...))
	evil := pkiServer(t, evilLeaf.TLS, false, nil, nil)
	genuine := []string{testpki.Pin(w.leaf.Cert), testpki.Pin(w.ca.Cert)}
	b := pkiBase(t, transport.BaseConfig{
		Pins: []transport.PinSet{
			{Host: "*.Example.Test", Pins: genuine},
			{Host: "exact.example.test", Pins: []string{testpki.Pin(evilLeaf.Cert), testpki.Pin(w.attackerCA.Cert)}},
		},
	}, evil, w.ca, w.attackerCA)
	for _, tc := range []struct {
		host     string
		mismatch bool
	}{
		{"api.example.test", true},    // one label under the wildcard
		{"API.EXAMPLE.TEST", true},    // case does not matter
		{"exact.example.test", false}, // exact set wins over the wildcard
		{"example.test", false},       // the wildcard needs a label
		{"a.b.example.test", false},   // ...exactly one
		{"other.test", false},         // not pinned
	} {
		t.Run(tc.host, func(t *testing.T) {
			b.CloseIdleConnections()
			_, _, err := pkiGet(t, b, "https://"+tc.host+"/")
			if got := errors.Is(err, transport.ErrPinMismatch); got != tc.mismatch {
				t.Fatalf("mismatch = %v (err %v), want %v", got, err, tc.mismatch)
			}
			if !tc.mismatch && err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPinIPHost(t *testing.T) {
	w := newPKIWorld(t)
	good := pkiServer(t, w.leaf.TLS, false, nil, nil)
	evil := pkiServer(t, w.attacker.TLS, false, nil, nil)
	genuine := []string{testpki.Pin(w.leaf.Cert), testpki.Pin(w.ca.Cert)}
	for _, tc := range []struct {
		name     string
		pinHost  string
		srv      string
		mismatch bool
	}{
		{"genuine", "127.0.0.1", good.URL, false},
		{"attacker", "127.0.0.1", evil.URL, true},
		{"other ip pinned", "10.9.8.7", evil.URL, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := pkiMust(transport.NewBase(transport.BaseConfig{
				TLSConfig: &tls.Config{RootCAs: testpki.Pool(w.ca, w.attackerCA)},
				Pins:      []transport.PinSet{{Host: tc.pinHost, Pins: genuine}},
			}))
			defer b.CloseIdleConnections()
			_, _, err := pkiGet(t, b, tc.srv)
			if got := errors.Is(err, transport.ErrPinMismatch); got != tc.mismatch {
				t.Fatalf("mismatch = %v (err %v)", got, err)
			}
			var pme *transport.PinMismatchError
			if tc.mismatch && (!errors.As(err, &pme) || pme.Host != "127.0.0.1") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestPinSetExpiry(t *testing.T) {
	w := newPKIWorld(t)
	evil := pkiServer(t, w.attacker.TLS, false, nil, nil)
	expires := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := newPKIClock(expires.Add(-time.Second))
	reader := sdkmetric.NewManualReader()
	var events pkiEvents
	b := pkiBase(t, transport.BaseConfig{
		Pins: []transport.PinSet{{Host: "api.example.test", Expires: expires,
			Pins: []string{testpki.Pin(w.leaf.Cert), testpki.Pin(w.ca.Cert)}}},
		Now:           clock.now,
		OnPinEvent:    events.add,
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
	}, evil, w.ca, w.attackerCA)

	if _, _, err := pkiGet(t, b, "https://api.example.test/"); !errors.Is(err, transport.ErrPinMismatch) {
		t.Fatalf("before expiry: err = %v, want ErrPinMismatch", err)
	}
	clock.set(expires) // expired from this instant on
	b.CloseIdleConnections()
	if _, body, err := pkiGet(t, b, "https://api.example.test/"); err != nil || body != "ok" {
		t.Fatalf("after expiry: %q, %v (an expired pin set must not be enforced)", body, err)
	}
	ev := events.all()
	if len(ev) != 2 || ev[0].Kind != transport.PinEventMismatch || ev[1].Kind != transport.PinEventExpired ||
		!ev[1].Expires.Equal(expires) || ev[1].Host != "api.example.test" {
		t.Fatalf("events = %+v", ev)
	}
	dps := pkiCounter(t, reader, "securecall.tls.pin.expired")
	if len(dps) != 1 || dps[0].Value != 1 || pkiAttr(dps[0].Attributes, "server.address").AsString() != "api.example.test" {
		t.Fatalf("expired counter = %+v", dps)
	}
	dps = pkiCounter(t, reader, "securecall.tls.pin.mismatch")
	if len(dps) != 1 || dps[0].Value != 1 || pkiAttr(dps[0].Attributes, "securecall.tls.pin.report_only").AsBool() {
		t.Fatalf("mismatch counter = %+v", dps)
	}

	// Normal verification still applies to an expired set: an untrusted
	// chain is refused.
	untrusted := pkiBase(t, transport.BaseConfig{
		Pins: []transport.PinSet{{Host: "api.example.test", Expires: expires,
			Pins: []string{testpki.Pin(w.leaf.Cert), testpki.Pin(w.ca.Cert)}}},
		Now: clock.now,
	}, evil, w.ca)
	if _, _, err := pkiGet(t, untrusted, "https://api.example.test/"); !transport.IsCertificateError(err) || errors.Is(err, transport.ErrPinMismatch) {
		t.Fatalf("untrusted chain with expired pins: %v", err)
	}
}

func TestPinReportOnly(t *testing.T) {
	w := newPKIWorld(t)
	evil := pkiServer(t, w.attacker.TLS, true, nil, nil)
	good := pkiServer(t, w.leaf.TLS, true, nil, nil)
	pins := []string{testpki.Pin(w.leaf.Cert), testpki.Pin(w.ca.Cert)}

	for _, tc := range []struct {
		name     string
		srv      string
		mismatch bool
	}{{"attacker", evil.Listener.Addr().String(), true}, {"genuine", good.Listener.Addr().String(), false}} {
		t.Run(tc.name, func(t *testing.T) {
			reader := sdkmetric.NewManualReader()
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			var events pkiEvents
			b := pkiBase(t, transport.BaseConfig{
				TLSConfig:     &tls.Config{RootCAs: testpki.Pool(w.ca, w.attackerCA)},
				DialContext:   pkiDialTo(tc.srv),
				Pins:          []transport.PinSet{{Host: "api.example.test", Pins: pins, ReportOnly: true}},
				OnPinEvent:    events.add,
				MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
			}, nil)

			// Two calls over one connection (HTTP/2): one handshake, two
			// span events.
			for i := range 2 {
				ctx, span := tp.Tracer("test").Start(context.Background(), "attempt")
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.test/", nil)
				resp, err := b.RoundTrip(req)
				if err != nil {
					t.Fatalf("call %d: report-only must let the call through: %v", i, err)
				}
				resp.Body.Close()
				span.End()
				if resp.TLS.DidResume || resp.ProtoMajor != 2 {
					t.Fatalf("unexpected connection state")
				}
			}
			spans := rec.Ended()
			if len(spans) != 2 {
				t.Fatalf("%d spans", len(spans))
			}
			for _, s := range spans {
				var got []sdktrace.Event
				for _, e := range s.Events() {
					if e.Name == "securecall.tls.pin_mismatch" {
						got = append(got, e)
					}
				}
				if !tc.mismatch {
					if len(got) != 0 {
						t.Fatalf("span events on a matching chain: %+v", got)
					}
					continue
				}
				if len(got) != 1 {
					t.Fatalf("span %s has %d pin_mismatch events", s.Name(), len(got))
				}
				set := attribute.NewSet(got[0].Attributes...)
				if pkiAttr(set, "server.address").AsString() != "api.example.test" ||
					!slices.Equal(pkiAttr(set, "securecall.tls.pin.seen").AsStringSlice(),
						[]string{testpki.Pin(w.attacker.Cert), testpki.Pin(w.attackerCA.Cert)}) {
					t.Fatalf("event attributes %v", got[0].Attributes)
				}
			}
			dps := pkiCounter(t, reader, "securecall.tls.pin.mismatch")
			ev := events.all()
			if !tc.mismatch {
				if len(dps) != 0 || len(ev) != 0 {
					t.Fatalf("counter %+v events %+v on a matching chain", dps, ev)
				}
				return
			}
			if len(dps) != 1 || dps[0].Value != 1 ||
				pkiAttr(dps[0].Attributes, "server.address").AsString() != "api.example.test" ||
				!pkiAttr(dps[0].Attributes, "securecall.tls.pin.report_only").AsBool() {
				t.Fatalf("mismatch counter = %+v", dps)
			}
			if len(ev) != 1 || ev[0].Kind != transport.PinEventMismatch || !ev[0].ReportOnly {
				t.Fatalf("events = %+v", ev)
			}
		})
	}
}

// Resumed sessions skip certificate verification callbacks other than
// VerifyConnection; pins must still be checked on them.
func TestPinCheckedOnResumedSessions(t *testing.T) {
	w := newPKIWorld(t)
	pins := []string{testpki.Pin(w.leaf.Cert), testpki.Pin(w.ca.Cert)}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			evil := pkiServer(t, w.attacker.TLS, false, nil, nil)
			newTLS := func() *tls.Config {
				return &tls.Config{
					RootCAs:            testpki.Pool(w.ca, w.attackerCA),
					MaxVersion:         v,
					ClientSessionCache: tls.NewLRUClientSessionCache(8),
				}
			}

			t.Run("report-only sees every handshake", func(t *testing.T) {
				var events pkiEvents
				b := pkiBase(t, transport.BaseConfig{
					TLSConfig:  newTLS(),
					Pins:       []transport.PinSet{{Host: "api.example.test", Pins: pins, ReportOnly: true}},
					OnPinEvent: events.add,
				}, evil)
				var resumed []bool
				for range 2 {
					resp, _, err := pkiGet(t, b, "https://api.example.test/")
					if err != nil {
						t.Fatal(err)
					}
					resumed = append(resumed, resp.TLS.DidResume)
					b.CloseIdleConnections()
				}
				if !slices.Equal(resumed, []bool{false, true}) {
					t.Fatalf("DidResume = %v, want [false true]", resumed)
				}
				ev := events.all()
				if len(ev) != 2 || ev[0].Resumed || !ev[1].Resumed || ev[1].Kind != transport.PinEventMismatch {
					t.Fatalf("events = %+v", ev)
				}
			})

			t.Run("enforced on resumption", func(t *testing.T) {
				// The first connection happens while the set is expired
				// (so it succeeds and leaves a session in the cache); the
				// second, resumed one happens while it is in force.
				expires := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
				clock := newPKIClock(expires)
				var events pkiEvents
				b := pkiBase(t, transport.BaseConfig{
					TLSConfig:  newTLS(),
					Pins:       []transport.PinSet{{Host: "api.example.test", Pins: pins, Expires: expires}},
					Now:        clock.now,
					OnPinEvent: events.add,
				}, evil)
				resp, _, err := pkiGet(t, b, "https://api.example.test/")
				if err != nil || resp.TLS.DidResume {
					t.Fatalf("first call: %v", err)
				}
				b.CloseIdleConnections()
				clock.set(expires.Add(-time.Hour))
				_, _, err = pkiGet(t, b, "https://api.example.test/")
				if !errors.Is(err, transport.ErrPinMismatch) {
					t.Fatalf("resumed connection: err = %v, want ErrPinMismatch", err)
				}
				ev := events.all()
				if len(ev) != 2 || ev[0].Kind != transport.PinEventExpired || ev[1].Kind != transport.PinEventMismatch || !ev[1].Resumed {
					t.Fatalf("events = %+v (the rejected handshake must be a resumption)", ev)
				}
			})
		})
	}
}

func TestPinEventKindString(t *testing.T) {
	if transport.PinEventMismatch.String() != "mismatch" || transport.PinEventExpired.String() != "expired" ||
		transport.PinEventKind(9).String() != "PinEventKind(9)" {
		t.Fatal("PinEventKind.String")
	}
}

// TestPinIPHostTrailingDot: a pinned IP written with a trailing dot
// ("https://127.0.0.1./") is the pinned IP. Go's resolver refuses such a
// name, but a custom dialer (here) or a proxy connects it. crypto/tls then
// sends no SNI but verifies the name "127.0.0.1." against the DNS SANs, so
// a certificate with the DNS SAN "127.0.0.1" (what a misissuing CA, the
// threat pins are for, can sign) is accepted; it reports "127.0.0.1" as the
// connection's ServerName, which must be checked against the IP's pins,
// not looked up among the names, where it is never found.
func TestPinIPHostTrailingDot(t *testing.T) {
	w := newPKIWorld(t)
	ipAsName := func(ca *testpki.CA) tls.Certificate {
		key := pkiMust(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(time.Now().UnixNano()),
			Subject:      pkix.Name{CommonName: "127.0.0.1"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			DNSNames:     []string{"127.0.0.1"},
			IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		}
		der := pkiMust(x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key))
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	good := pkiServer(t, ipAsName(w.ca), false, nil, nil)
	evil := pkiServer(t, ipAsName(w.attackerCA), false, nil, nil)
	genuine := []string{testpki.Pin(w.ca.Cert), pkiMust(testpki.RandomPin())}
	cfg := func() transport.BaseConfig {
		return transport.BaseConfig{
			TLSConfig: &tls.Config{RootCAs: testpki.Pool(w.ca, w.attackerCA)},
			Pins:      []transport.PinSet{{Host: "127.0.0.1", Pins: genuine}},
		}
	}
	for _, host := range []string{"127.0.0.1.", "127.0.0.1"} {
		b := pkiBase(t, cfg(), evil)
		_, _, err := pkiGet(t, b, "https://"+host+"/")
		var pme *transport.PinMismatchError
		if !errors.As(err, &pme) || pme.Host != "127.0.0.1" {
			t.Errorf("attacker at %s: err = %v, want a pin mismatch for 127.0.0.1", host, err)
		}
		b = pkiBase(t, cfg(), good)
		if _, body, err := pkiGet(t, b, "https://"+host+"/"); err != nil || body != "ok" {
			t.Errorf("genuine at %s: %q %v", host, body, err)
		}
	}
}
