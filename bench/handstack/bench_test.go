package handstack

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"golang.org/x/oauth2"
	"golang.org/x/time/rate"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/benchkit"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// The benchmarks mirror bench's BenchmarkStack (same stub, same loopback
// server, same 1 KiB POST body, same OTel SDK setup) so their figures are
// comparable, and measure the three clients in the same run:
//
//	BenchmarkHandStack/{stub,h1}/{bare,hand,full}/{GET,POST}
//	BenchmarkHandStackParallel/{stub,h1}/{bare,hand,full}/GET   (8 goroutines)
//
// bare is http.Client over the stub or an http.Transport; hand is New (this
// package); full is securecall's client.New with every layer on (HMAC
// signing, a cached bearer token, resilience and egress defaults, and for
// h1 the pinned base transport). Pure client cost is a stub row minus
// stub/bare.

// The stub, the POST body and the SDK setup are benchkit's, shared with
// bench so that the two suites' figures compare.
var payload = benchkit.Payload

const respBody = benchkit.RespBody

type stubTransport = benchkit.Stub

// sdk returns benchkit's tracer provider (batch processor, discarding
// exporter) and meter provider (manual reader).
func sdk(b *testing.B) (*sdktrace.TracerProvider, *sdkmetric.MeterProvider) { return benchkit.SDK(b) }

// backupPin matches nothing: the backup key of a production pin set.
var backupPin = benchkit.BackupPin

var benchKey = bytes.Repeat([]byte{0x42}, 32)

func handClient(b *testing.B, base http.RoundTripper) *http.Client {
	tp, mp := sdk(b)
	c, err := New(Config{
		Base:           base,
		Token:          &oauth2.Token{AccessToken: "bench-access-token", TokenType: "Bearer", Expiry: time.Now().Add(24 * time.Hour)},
		HMACKey:        benchKey,
		Rate:           rate.Limit(1e9), // high enough never to wait
		Burst:          1 << 20,
		TracerProvider: tp,
		MeterProvider:  mp,
		Propagator:     propagation.TraceContext{},
	})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func fullClient(b *testing.B, opts ...client.Option) *client.Client {
	tp, mp := sdk(b)
	key, err := signer.NewHMACKey("bench-key", benchKey)
	if err != nil {
		b.Fatal(err)
	}
	tok := tokens.NewToken("bench-access-token", "Bearer", time.Now().Add(24*time.Hour))
	c, err := client.New(append([]client.Option{
		client.WithHMACSigning(signer.StaticKey(key)),
		client.WithTokenSource(tokens.SourceFunc(func(context.Context) (tokens.Token, error) { return tok, nil })),
		client.WithTracerProvider(tp),
		client.WithMeterProvider(mp),
		client.WithPropagator(propagation.TraceContext{}),
	}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c
}

type target struct {
	url        string
	bare, hand *http.Client
	full       *client.Client
}

// doer is the Do method of a client.
type doer func(*http.Request) (*http.Response, error)

func (t target) client(variant string) doer {
	switch variant {
	case "hand":
		return t.hand.Do
	case "full":
		return t.full.Do
	}
	return t.bare.Do
}

func newStub(b *testing.B) target {
	return target{
		url:  "https://api.example.test/v1/items?page=2",
		bare: &http.Client{Transport: stubTransport{}},
		hand: handClient(b, stubTransport{}),
		full: fullClient(b, client.WithOrigins("https://api.example.test"), client.WithBaseTransport(stubTransport{})),
	}
}

// newH1 starts a loopback HTTPS/1.1 server (as bench's h1).
func newH1(b *testing.B) target {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, respBody)
	}))
	srv.StartTLS()
	b.Cleanup(srv.Close)

	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	bareTr := http.DefaultTransport.(*http.Transport).Clone()
	bareTr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	bareTr.ForceAttemptHTTP2 = false
	// As PinnedTransport and securecall's base: with net/http's default of
	// 2 idle connections per host, the parallel benchmark would measure
	// TLS handshakes.
	bareTr.MaxIdleConnsPerHost = 16
	b.Cleanup(bareTr.CloseIdleConnections)

	pins := []string{SPKIPin(srv.Certificate()), backupPin}
	handTr := PinnedTransport(roots, pins)
	b.Cleanup(handTr.CloseIdleConnections)

	return target{
		url:  srv.URL + "/v1/items?page=2",
		bare: &http.Client{Transport: bareTr},
		hand: handClient(b, handTr),
		full: fullClient(b,
			client.WithOrigins(srv.URL),
			client.WithTLSConfig(&tls.Config{RootCAs: roots}),
			client.WithPins(transport.PinSet{Host: "127.0.0.1", Pins: pins}),
		),
	}
}

func newRequest(b *testing.B, method, url string) *http.Request {
	var body io.Reader
	if method == http.MethodPost {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		b.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func do(b *testing.B, c doer, method, url string) error {
	resp, err := c(newRequest(b, method, url))
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

var (
	kinds = []struct {
		name string
		new  func(*testing.B) target
	}{{"stub", newStub}, {"h1", newH1}}
	variants = []string{"bare", "hand", "full"}
)

func BenchmarkHandStack(b *testing.B) {
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			t := k.new(b)
			for _, v := range variants {
				c := t.client(v)
				for _, m := range []string{http.MethodGet, http.MethodPost} {
					b.Run(v+"/"+m, func(b *testing.B) {
						b.ReportAllocs()
						for b.Loop() {
							if err := do(b, c, m, t.url); err != nil {
								b.Fatal(err)
							}
						}
					})
				}
			}
		})
	}
}

// BenchmarkHandStackParallel runs GET from 8 goroutines; compare the CPU
// per request (ns/op × GOMAXPROCS) of hand and full against bare.
func BenchmarkHandStackParallel(b *testing.B) {
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			t := k.new(b)
			for _, v := range variants {
				c := t.client(v)
				b.Run(v+"/GET", func(b *testing.B) {
					b.ReportAllocs()
					b.SetParallelism(4) // 4 × GOMAXPROCS(2) = 8 goroutines on the project machines
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := do(b, c, http.MethodGet, t.url); err != nil {
								b.Error(err)
								return
							}
						}
					})
				})
			}
		})
	}
}
