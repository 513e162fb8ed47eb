package bench

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/securecall/securecall/signer"
)

// floorTransport is the least work a request must do to meet what the
// performance issue counts as "every layer on", written inline with no
// layering, no configuration and no error paths, against the same stub and
// the same OTel SDK setup as BenchmarkStack:
//
//   - a copy of the request with its own header map (a RoundTripper must
//     not change the caller's request; a retry needs the original);
//   - a cached bearer token in Authorization;
//   - an RFC 9421 HMAC-SHA256 signature over @method, @authority, @path,
//     @query and authorization (and, for a body, content-digest and
//     content-type), with created and a 16-byte nonce from crypto/rand, as
//     the sign layer covers them (pooled MAC state);
//   - for a body: an RFC 9530 Content-Digest (SHA-256) read through
//     GetBody (the request's own body is the one sent);
//   - with tracing (tr != nil): one client span with the HTTP client
//     semconv attributes set in one call at the end (method,
//     server.address, server.port, status, url.full, protocol version);
//     traceparent, written into the header directly; one duration
//     histogram measurement and one attempt counter increment with a
//     precomputed attribute set.
//
// The header values share one slice and the two signature fields one
// string, as the stack's do. It has no retry, breaker, throttle, egress
// check, inventory, response limits, timeouts, redaction or error
// classification, and it ends the span at the response headers instead of
// at the end of the body. It is not a client anyone should ship; it is the
// floor under which no stack doing the work on this SDK and this
// machine can go, so that full − floor is what securecall's own structure
// costs.
type floorTransport struct {
	next           http.RoundTripper
	tr             trace.Tracer // nil: tracing off
	hist           metric.Float64Histogram
	cnt            metric.Int64Counter
	start          []trace.SpanStartOption
	base, basePost []attribute.KeyValue // method, server.address, server.port
	set, setPost   metric.MeasurementOption
	attrs          sync.Pool // *[8]attribute.KeyValue: a stack array would escape
	auth           string
	macs           sync.Pool // *floorMAC
}

// floorMAC is a pooled HMAC state with its scratch space (a buffer passed
// to the hash.Hash interface escapes, so a stack one would be allocated).
type floorMAC struct {
	mac  hash.Hash
	sha  hash.Hash // Content-Digest
	buf  [512]byte
	sum  [sha256.Size]byte
	copy [4096]byte
}

func newFloorTransport(next http.RoundTripper, tp trace.TracerProvider, mp metric.MeterProvider) *floorTransport {
	key := make([]byte, 32)
	for i := range key {
		key[i] = 0x42
	}
	f := &floorTransport{
		next:  next,
		auth:  "Bearer bench-access-token",
		macs:  sync.Pool{New: func() any { return &floorMAC{mac: hmac.New(sha256.New, key), sha: sha256.New()} }},
		attrs: sync.Pool{New: func() any { return new([8]attribute.KeyValue) }},
	}
	if tp == nil {
		return f
	}
	f.tr = tp.Tracer("floor")
	m := mp.Meter("floor")
	f.hist, _ = m.Float64Histogram("floor.duration")
	f.cnt, _ = m.Int64Counter("floor.attempts")
	base := []attribute.KeyValue{
		attribute.String("http.request.method", "GET"), attribute.String("server.address", "api.example.test"),
		attribute.Int("server.port", 443),
	}
	basePost := append([]attribute.KeyValue{attribute.String("http.request.method", "POST")}, base[1:]...)
	f.base, f.basePost = base, basePost
	f.start = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}
	ok := attribute.Int("http.response.status_code", 200)
	f.set = metric.WithAttributeSet(attribute.NewSet(append(base, ok)...))
	f.setPost = metric.WithAttributeSet(attribute.NewSet(append(basePost, ok)...))
	return f
}

func (f *floorTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	ctx := req.Context()
	post := req.Method == http.MethodPost
	var span trace.Span
	if f.tr != nil {
		ctx, span = f.tr.Start(ctx, req.Method, f.start...)
	}
	r := req.WithContext(ctx)
	h := make(http.Header, len(req.Header)+6)
	for k, v := range req.Header {
		h[k] = v
	}
	r.Header = h
	vals := make([]string, 5) // one allocation for the values set here
	vals[0] = f.auth
	h["Authorization"] = vals[0:1:1]

	fm := f.macs.Get().(*floorMAC)
	var digest string
	if post {
		// Content-Digest (RFC 9530) over the whole body, read through
		// GetBody; the body sent is the request's own (r shares it), as
		// the stack's first attempt sends it.
		body, err := req.GetBody()
		if err != nil {
			f.macs.Put(fm)
			return nil, err
		}
		fm.sha.Reset()
		_, _ = io.CopyBuffer(fm.sha, body, fm.copy[:])
		_ = body.Close()
		d := append(fm.buf[:0], "sha-256=:"...)
		d = base64.StdEncoding.AppendEncode(d, fm.sha.Sum(fm.sum[:0]))
		digest = string(append(d, ':'))
		vals[3] = digest
		h["Content-Digest"] = vals[3:4:4]
	}

	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	params := append(fm.buf[:0], `("@method" "@authority" "@path" "@query" `...)
	if post {
		params = append(params, `"content-digest" "content-type" `...)
	}
	params = append(params, `"authorization");created=`...)
	params = strconv.AppendInt(params, start.Unix(), 10)
	params = append(params, `;nonce="`...)
	params = base64.RawURLEncoding.AppendEncode(params, nonce[:])
	params = append(params, `";keyid="bench-key";alg="hmac-sha256"`...)
	np := len(params)
	b := append(params, "\"@method\": "...)
	b = append(b, r.Method...)
	b = append(b, "\n\"@authority\": "...)
	b = append(b, r.URL.Host...)
	b = append(b, "\n\"@path\": "...)
	b = append(b, r.URL.EscapedPath()...)
	b = append(b, "\n\"@query\": ?"...)
	b = append(b, r.URL.RawQuery...)
	if post {
		b = append(b, "\n\"content-digest\": "...)
		b = append(b, digest...)
		b = append(b, "\n\"content-type\": "...)
		b = append(b, h.Get("Content-Type")...)
	}
	b = append(b, "\n\"authorization\": "...)
	b = append(b, f.auth...)
	b = append(b, "\n\"@signature-params\": "...)
	b = append(b, params[:np]...)
	fm.mac.Reset()
	fm.mac.Write(b[np:])
	sum := fm.mac.Sum(fm.sum[:0])
	// Signature-Input and Signature in one string (one allocation).
	var out [512]byte
	o := append(out[:0], "sig1="...)
	o = append(o, params[:np]...)
	ni := len(o)
	o = append(o, "sig1=:"...)
	o = base64.StdEncoding.AppendEncode(o, sum)
	o = append(o, ':')
	both := string(o)
	f.macs.Put(fm)
	vals[1], vals[2] = both[:ni], both[ni:]
	h["Signature-Input"] = vals[1:2:2]
	h["Signature"] = vals[2:3:3]

	if f.tr != nil {
		// W3C traceparent, written as the propagator would write it, into
		// the values slice (propagation.HeaderCarrier would allocate a
		// slice and canonicalise the name).
		sc := span.SpanContext()
		tid, sid := sc.TraceID(), sc.SpanID()
		var tp [55]byte
		b := append(tp[:0], "00-"...)
		b = hex.AppendEncode(b, tid[:])
		b = append(b, '-')
		b = hex.AppendEncode(b, sid[:])
		b = append(b, '-')
		b = hex.AppendEncode(b, []byte{byte(sc.TraceFlags())})
		vals[4] = string(b)
		h["Traceparent"] = vals[4:5:5]
	}
	resp, err := f.next.RoundTrip(r)
	if f.tr != nil {
		set := f.set
		if post {
			set = f.setPost
		}
		f.hist.Record(ctx, time.Since(start).Seconds(), set)
		f.cnt.Add(ctx, 1, set)
		if err == nil {
			// Every attribute in one SetAttributes at the end (one
			// allocation in the SDK), as the call trace sets them.
			buf := f.attrs.Get().(*[8]attribute.KeyValue)
			attrs := buf[:0]
			if post {
				attrs = append(attrs, f.basePost...)
			} else {
				attrs = append(attrs, f.base...)
			}
			attrs = append(attrs, attribute.Int("http.response.status_code", resp.StatusCode),
				attribute.String("url.full", req.URL.String()), attribute.String("network.protocol.version", "1.1"))
			span.SetAttributes(attrs...)
			clear(buf[:])
			f.attrs.Put(buf)
		}
		span.End()
	}
	return resp, err
}

// floorRows returns the rows of target t that BenchmarkFloor and
// BenchmarkFloorParallel compare: bare net/http, floorTransport (tracing on
// with an OTel SDK set up as fullOptions does, and off) over the same base
// transport as bare, and securecall's full and lean stacks.
func floorRows(b *testing.B, t target) []struct {
	name string
	do   func(*http.Request) (*http.Response, error)
} {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardExporter{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	base := t.bare.Transport
	floor := &http.Client{Transport: newFloorTransport(base, tp, mp)}
	floorLean := &http.Client{Transport: newFloorTransport(base, nil, nil)}
	return []struct {
		name string
		do   func(*http.Request) (*http.Response, error)
	}{
		{"bare", t.bare.Do}, {"floor", floor.Do}, {"full", t.full.Do},
		{"floor-lean", floorLean.Do}, {"lean", t.lean.Do},
	}
}

// BenchmarkFloor runs GET and POST (1 KiB) on the stub and on the
// loopback HTTP/1.1 server of BenchmarkStack through bare net/http,
// floorTransport (tracing on and off) and securecall's full and lean
// stacks, in the same run:
//
//	floor − bare   the least the work costs on this SDK and machine;
//	full − floor   what securecall's layering and its other layers cost.
//
//	BenchmarkFloor/{stub,h1}/{bare,floor,full,floor-lean,lean}/{GET,POST}
func BenchmarkFloor(b *testing.B) {
	eachFloorRow(b, func(b *testing.B, t target, name string, do func(*http.Request) (*http.Response, error)) {
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			b.Run(name+"/"+m, func(b *testing.B) { run(b, do, m, t.url) })
		}
	})
}

// BenchmarkFloorParallel is BenchmarkFloor's GET with 8 goroutines
// (runParallel); compare cpu-ns/op.
//
//	BenchmarkFloorParallel/{stub,h1}/{bare,floor,full,floor-lean,lean}/GET
func BenchmarkFloorParallel(b *testing.B) {
	eachFloorRow(b, func(b *testing.B, t target, name string, do func(*http.Request) (*http.Response, error)) {
		b.Run(name+"/GET", func(b *testing.B) { runParallel(b, do, http.MethodGet, t.url) })
	})
}

// eachFloorRow calls f with every row of floorRows on the stub and on the
// loopback HTTP/1.1 server, each target in a sub-benchmark of its name.
func eachFloorRow(b *testing.B, f func(b *testing.B, t target, name string, do func(*http.Request) (*http.Response, error))) {
	for _, k := range []struct {
		name string
		new  func(*testing.B) target
	}{
		{"stub", newStub},
		{"h1", func(b *testing.B) target { return newLoopback(b, false) }},
	} {
		b.Run(k.name, func(b *testing.B) {
			t := k.new(b)
			for _, v := range floorRows(b, t) {
				f(b, t, v.name, v.do)
			}
		})
	}
}

// verifyingStub checks every request with a Verifier before answering as
// the stub does, and keeps the traceparent each request carried.
type verifyingStub struct {
	t           *testing.T
	v           *signer.Verifier
	traceparent *[]string
}

func (s verifyingStub) RoundTrip(req *http.Request) (*http.Response, error) {
	// The Verifier reads a server request: the authority is in Host.
	in := req.Clone(req.Context())
	in.Host = req.URL.Host
	in.RequestURI = req.URL.RequestURI()
	if _, err := s.v.Verify(in, time.Now()); err != nil {
		s.t.Errorf("%s: the floor's signature does not verify: %v", req.Method, err)
	}
	if req.Method == http.MethodPost && in.Header.Get("Content-Digest") == "" {
		s.t.Errorf("POST without Content-Digest")
	}
	*s.traceparent = append(*s.traceparent, req.Header.Get("Traceparent"))
	return stubTransport{}.RoundTrip(in)
}

// TestFloorSigns keeps the floor honest, so that BenchmarkFloor measures
// the real work and not a cheaper imitation of it: its signature and
// Content-Digest pass the Verifier (required components, digest of the
// body, nonce, created), the caller's request is left as it was, and with
// tracing every call records one span with the six HTTP client attributes,
// sends that span's traceparent, and adds one duration measurement and one
// attempt count.
func TestFloorSigns(t *testing.T) {
	key, err := signer.NewHMACKey("bench-key", bytes.Repeat([]byte{0x42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	for _, traced := range []bool{false, true} {
		t.Run(map[bool]string{false: "lean", true: "traced"}[traced], func(t *testing.T) {
			v, err := signer.NewVerifier(signer.VerifierOptions{
				Keys:     signer.StaticKey(key),
				Required: append(signer.DefaultRequired(), signer.Field("authorization")),
			})
			if err != nil {
				t.Fatal(err)
			}
			var tps []string
			rec := tracetest.NewSpanRecorder()
			reader := sdkmetric.NewManualReader()
			var f *floorTransport
			stub := verifyingStub{t, v, &tps}
			if traced {
				tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
				mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
				t.Cleanup(func() {
					_ = tp.Shutdown(context.Background())
					_ = mp.Shutdown(context.Background())
				})
				f = newFloorTransport(stub, tp, mp)
			} else {
				f = newFloorTransport(stub, nil, nil)
			}
			c := &http.Client{Transport: f}
			methods := []string{http.MethodGet, http.MethodPost, http.MethodGet}
			for _, m := range methods {
				var body io.Reader
				if m == http.MethodPost {
					body = bytes.NewReader(payload)
				}
				req, err := http.NewRequest(m, "https://api.example.test/v1/items?page=2", body)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if len(req.Header) != 1 {
					t.Errorf("the caller's request was changed: %v", req.Header)
				}
			}
			if !traced {
				return
			}
			spans := rec.Ended()
			if len(spans) != len(methods) {
				t.Fatalf("%d spans for %d calls", len(spans), len(methods))
			}
			for i, sp := range spans {
				if n := len(sp.Attributes()); n != 6 {
					t.Errorf("span %d: %d attributes, want 6: %v", i, n, sp.Attributes())
				}
				sc := sp.SpanContext()
				want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + sc.TraceFlags().String()
				if tps[i] != want {
					t.Errorf("call %d sent traceparent %q, its span is %q", i, tps[i], want)
				}
			}
			var rm metricdata.ResourceMetrics
			if err := reader.Collect(context.Background(), &rm); err != nil {
				t.Fatal(err)
			}
			var hist uint64
			var count int64
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					switch d := m.Data.(type) {
					case metricdata.Histogram[float64]:
						for _, p := range d.DataPoints {
							hist += p.Count
						}
					case metricdata.Sum[int64]:
						for _, p := range d.DataPoints {
							count += p.Value
						}
					}
				}
			}
			if hist != uint64(len(methods)) || count != int64(len(methods)) {
				t.Errorf("%d duration measurements and %d attempts counted for %d calls", hist, count, len(methods))
			}
		})
	}
}

// allocSink keeps BenchmarkMachineAlloc's objects from being optimised
// away.
var allocSink any

// BenchmarkMachineAlloc measures what allocating costs on this machine,
// GC and the scavenger amortised in: objects of 256 B to 2 KiB holding
// pointers (as the stack's call scope and attempt do), allocated and
// dropped in a loop. On the project machines the cost grows with the
// bytes (~0.7 ns per byte), which is why docs/performance.md counts bytes
// as well as allocations.
func BenchmarkMachineAlloc(b *testing.B) {
	b.Run("256B", func(b *testing.B) { benchAlloc[[256 / 8]*int](b) })
	b.Run("512B", func(b *testing.B) { benchAlloc[[512 / 8]*int](b) })
	b.Run("1KiB", func(b *testing.B) { benchAlloc[[1024 / 8]*int](b) })
	b.Run("2KiB", func(b *testing.B) { benchAlloc[[2048 / 8]*int](b) })
}

func benchAlloc[T any](b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		allocSink = new(T)
	}
}
