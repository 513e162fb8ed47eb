package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/benchkit"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// The stub, the POST body and the span exporter are benchkit's, shared
// with bench/handstack so that the two suites' figures compare.
var payload = benchkit.Payload

const respBody = benchkit.RespBody

type (
	stubTransport   = benchkit.Stub
	discardExporter = benchkit.DiscardExporter
)

// fullOptions returns the options every "full" client gets: HMAC signing
// and a real OTel SDK (a batch span processor and a metric reader), as a
// production service would configure them.
func fullOptions(b *testing.B) []client.Option {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardExporter{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	return append(layerOptions(b),
		client.WithTracerProvider(tp),
		client.WithMeterProvider(mp),
		client.WithPropagator(propagation.TraceContext{}),
	)
}

// leanOptions is fullOptions with tracing and metrics off (no-op
// providers): every other layer is on.
func leanOptions(b *testing.B) []client.Option {
	return append(layerOptions(b),
		client.WithTracerProvider(tracenoop.NewTracerProvider()),
		client.WithMeterProvider(metricnoop.NewMeterProvider()),
	)
}

// layerOptions turns on the layers that are off by default: HMAC signing
// and a bearer token (a valid cached token, as on a service's hot path).
func layerOptions(b *testing.B) []client.Option {
	key, err := signer.NewHMACKey("bench-key", bytes.Repeat([]byte{0x42}, 32))
	if err != nil {
		b.Fatal(err)
	}
	tok := tokens.NewToken("bench-access-token", "Bearer", time.Now().Add(24*time.Hour))
	return []client.Option{
		client.WithHMACSigning(signer.StaticKey(key)),
		client.WithTokenSource(tokens.SourceFunc(func(context.Context) (tokens.Token, error) { return tok, nil })),
	}
}

var (
	spkiPin   = benchkit.SPKIPin
	backupPin = benchkit.BackupPin
)

type target struct {
	url  string
	bare *http.Client
	full *client.Client
	lean *client.Client // every layer, tracing off (no-op providers)
	// conns counts the connections the loopback server accepted (nil for
	// the stub): run reports them per op, so a client that stopped
	// reusing connections shows as conns/op > 0 instead of as a mystery.
	conns *atomic.Int64
}

func newStub(b *testing.B) target {
	full, err := client.New(append(fullOptions(b),
		client.WithOrigins("https://api.example.test"),
		client.WithBaseTransport(stubTransport{}),
	)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { full.Close() })
	lean, err := client.New(append(leanOptions(b),
		client.WithOrigins("https://api.example.test"),
		client.WithBaseTransport(stubTransport{}),
	)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { lean.Close() })
	return target{
		url:  "https://api.example.test/v1/items?page=2",
		bare: &http.Client{Transport: stubTransport{}},
		full: full,
		lean: lean,
	}
}

func newLoopback(b *testing.B, h2 bool) target {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, respBody)
	}))
	srv.EnableHTTP2 = h2
	conns := new(atomic.Int64)
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	b.Cleanup(srv.Close)

	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	bareTr := http.DefaultTransport.(*http.Transport).Clone()
	bareTr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	bareTr.ForceAttemptHTTP2 = h2
	// As many idle connections as the hardened base keeps: under parallel
	// load the default 2 would make bare churn connections (handshakes)
	// and the comparison would be of pools, not of stacks.
	bareTr.MaxIdleConnsPerHost = transport.DefaultMaxIdleConnsPerHost
	b.Cleanup(bareTr.CloseIdleConnections)

	full, err := client.New(append(fullOptions(b),
		client.WithOrigins(srv.URL),
		client.WithTLSConfig(&tls.Config{RootCAs: roots}),
		client.WithPins(transport.PinSet{Host: "127.0.0.1", Pins: []string{spkiPin(srv.Certificate()), backupPin}}),
	)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { full.Close() })
	lean, err := client.New(append(leanOptions(b),
		client.WithOrigins(srv.URL),
		client.WithTLSConfig(&tls.Config{RootCAs: roots}),
		client.WithPins(transport.PinSet{Host: "127.0.0.1", Pins: []string{spkiPin(srv.Certificate()), backupPin}}),
	)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { lean.Close() })
	return target{url: srv.URL + "/v1/items?page=2", bare: &http.Client{Transport: bareTr}, full: full, lean: lean, conns: conns}
}

func newRequest(b *testing.B, method, url string) *http.Request {
	var req *http.Request
	var err error
	if method == http.MethodPost {
		req, err = http.NewRequest(method, url, bytes.NewReader(payload))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req, err = http.NewRequest(method, url, nil)
	}
	if err != nil {
		b.Fatal(err)
	}
	return req
}

// reportCPU reports cpu-ns/op: the process's CPU time (every thread:
// client, in-process server, GC) per request since cpu0, the measure of
// "CPU per request" that holds however many cores were busy.
func reportCPU(b *testing.B, cpu0 int64, ok bool) {
	if cpu1, ok1 := processCPU(); ok && ok1 && b.N > 0 {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
}

func run(b *testing.B, do func(*http.Request) (*http.Response, error), method, url string) {
	b.ReportAllocs()
	cpu0, ok := processCPU()
	defer reportCPU(b, cpu0, ok)
	b.ResetTimer()
	for b.Loop() {
		resp, err := do(newRequest(b, method, url))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

func runParallel(b *testing.B, do func(*http.Request) (*http.Response, error), method, url string) {
	b.ReportAllocs()
	b.SetParallelism(4) // 4 × GOMAXPROCS(2) = 8 goroutines on the project machines
	cpu0, ok := processCPU()
	defer reportCPU(b, cpu0, ok)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := do(newRequest(b, method, url))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

func BenchmarkStack(b *testing.B) {
	kinds := []struct {
		name string
		new  func(*testing.B) target
	}{
		{"stub", newStub},
		{"h1", func(b *testing.B) target { return newLoopback(b, false) }},
		{"h2", func(b *testing.B) target { return newLoopback(b, true) }},
	}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			t := k.new(b)
			for _, variant := range []string{"bare", "full", "lean"} {
				do := t.bare.Do
				switch variant {
				case "full":
					do = t.full.Do
				case "lean":
					if t.lean == nil {
						continue
					}
					do = t.lean.Do
				}
				b.Run(variant, func(b *testing.B) {
					for _, m := range []string{http.MethodGet, http.MethodPost} {
						b.Run(m, func(b *testing.B) {
							var before int64
							if t.conns != nil {
								before = t.conns.Load()
							}
							run(b, do, m, t.url)
							if t.conns != nil {
								b.ReportMetric(float64(t.conns.Load()-before)/float64(b.N), "conns/op")
							}
						})
					}
				})
			}
		})
	}
}

// BenchmarkStackParallel runs GET with 8 goroutines, on the stub and on
// the loopback HTTP/1.1 server; compare CPU per request (cpu-ns/op, the
// process's CPU time per request) of full against bare.
func BenchmarkStackParallel(b *testing.B) {
	t := newStub(b)
	b.Run("stub/bare/GET", func(b *testing.B) { runParallel(b, t.bare.Do, http.MethodGet, t.url) })
	b.Run("stub/full/GET", func(b *testing.B) { runParallel(b, t.full.Do, http.MethodGet, t.url) })
	b.Run("stub/lean/GET", func(b *testing.B) { runParallel(b, t.lean.Do, http.MethodGet, t.url) })
	h1 := newLoopback(b, false)
	for _, v := range []struct {
		name string
		do   func(*http.Request) (*http.Response, error)
	}{{"bare", h1.bare.Do}, {"full", h1.full.Do}, {"lean", h1.lean.Do}} {
		b.Run("h1/"+v.name+"/GET", func(b *testing.B) {
			before := h1.conns.Load()
			runParallel(b, v.do, http.MethodGet, h1.url)
			b.ReportMetric(float64(h1.conns.Load()-before)/float64(b.N), "conns/op")
		})
	}

	// The only lock parallel callers meet on the full stack's path is the
	// metric SDK's exemplar reservoir (a mutex per instrument, taken when
	// the context holds a sampled span: the SDK's default TraceBased
	// filter). This row is the full stack with exemplars off.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardExporter{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()),
		sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter))
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	noEx, err := client.New(append(layerOptions(b),
		client.WithTracerProvider(tp), client.WithMeterProvider(mp), client.WithPropagator(propagation.TraceContext{}),
		client.WithOrigins("https://api.example.test"), client.WithBaseTransport(stubTransport{}))...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { noEx.Close() })
	b.Run("stub/full-noexemplars/GET", func(b *testing.B) { runParallel(b, noEx.Do, http.MethodGet, t.url) })
}

// BenchmarkOTelFloor measures what the OTel SDK itself costs, in the same
// run as BenchmarkStack: one span (start, the attributes an HTTP client
// span carries, end, batch processor) and one histogram measurement. The
// full stack makes two spans (call and attempt) and two measurements per
// call; this is the floor no instrumentation on the SDK can go under.
func BenchmarkOTelFloor(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardExporter{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	tr := tp.Tracer("bench")
	hist, err := mp.Meter("bench").Float64Histogram("bench.duration")
	if err != nil {
		b.Fatal(err)
	}
	start := []attribute.KeyValue{
		attribute.String("http.request.method", "GET"), attribute.String("server.address", "api.example.test"),
		attribute.Int("server.port", 443), attribute.String("url.full", "https://api.example.test/v1/items?page=2"),
	}
	end := []attribute.KeyValue{attribute.Int("http.response.status_code", 200), attribute.String("network.protocol.version", "1.1")}
	set := metric.WithAttributeSet(attribute.NewSet(start[:3]...))
	b.Run("span", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, s := tr.Start(context.Background(), "GET", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(start...))
			s.SetAttributes(end...)
			s.End()
		}
	})
	b.Run("histogram", func(b *testing.B) {
		ctx, s := tr.Start(context.Background(), "parent") // a sampled span: exemplars on
		defer s.End()
		b.ReportAllocs()
		for b.Loop() {
			hist.Record(ctx, 0.01, set)
		}
	})
}

// BenchmarkWireCost measures, with bare net/http against the same loopback
// HTTP/1.1 server as BenchmarkStack/h1, what the full stack's work costs
// on the wire and in net/http itself, apart from the stack: the headers it
// adds (Authorization, Signature-Input, Signature, Traceparent; the server
// parses them too) and an HTTP/2-enabled transport talking HTTP/1.1 (the
// hardened base keeps HTTP/2, so every request first asks the HTTP/2
// connection pool). Subtract plain from each row.
//
//	BenchmarkWireCost/{plain,headers,h2enabled}
func BenchmarkWireCost(b *testing.B) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, respBody)
	})
	srv1 := httptest.NewUnstartedServer(handler)
	srv1.StartTLS()
	b.Cleanup(srv1.Close)
	srv2 := httptest.NewUnstartedServer(handler)
	srv2.EnableHTTP2 = true
	srv2.StartTLS()
	b.Cleanup(srv2.Close)
	for _, v := range []struct {
		name    string
		srv     *httptest.Server
		h2      bool
		headers bool
	}{
		{"plain", srv1, false, false},
		{"headers", srv1, false, true},
		{"h2enabled", srv1, true, false},
		{"h2/plain", srv2, true, false},
		{"h2/headers", srv2, true, true},
	} {
		roots := x509.NewCertPool()
		roots.AddCert(v.srv.Certificate())
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		tr.ForceAttemptHTTP2 = v.h2
		b.Cleanup(tr.CloseIdleConnections)
		c := &http.Client{Transport: tr}
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			var n uint64
			for b.Loop() {
				req := newRequest(b, http.MethodGet, v.srv.URL+"/v1/items?page=2")
				if v.headers {
					// The sizes the full stack sends, with what is unique
					// per request unique here too (nonce, signature, trace
					// and span IDs): HTTP/2's HPACK encoder adds every
					// such value to its dynamic table and evicts for it.
					n++
					u := fmt.Sprintf("%016x", n)
					req.Header["Authorization"] = []string{"Bearer bench-access-token"}
					req.Header["Signature-Input"] = []string{`sig1=("@method" "@target-uri" "@authority");created=1764230000;nonce="ZGVtby1ub25j` + u + `";keyid="bench-key";alg="hmac-sha256"`}
					req.Header["Signature"] = []string{"sig1=:c2lnbmF0dXJlLWJ5dGVzLXNpZ25hdHVyZS1i" + u + "NTY3OA==:"}
					req.Header["Traceparent"] = []string{"00-0af7651916cd43dd" + u + "-" + u + "-01"}
				}
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
