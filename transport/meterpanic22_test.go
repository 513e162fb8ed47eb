package transport_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/internal/childtest"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// armedMeterProvider is a MeterProvider of the caller's over the real OTel
// SDK whose instruments have a bug that shows once armed: Add and Record
// panic with "meter bug" (Enabled answers as the SDK's does).
type armedMeterProvider struct {
	metric.MeterProvider
	armed *atomic.Bool
}

func newArmedMeterProvider(t *testing.T) armedMeterProvider {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return armedMeterProvider{mp, new(atomic.Bool)}
}

func (p armedMeterProvider) Meter(name string, opts ...metric.MeterOption) metric.Meter {
	return armedMeter{p.MeterProvider.Meter(name, opts...), p.armed}
}

type armedMeter struct {
	metric.Meter
	armed *atomic.Bool
}

func (m armedMeter) Int64Counter(name string, opts ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	c, err := m.Meter.Int64Counter(name, opts...)
	return armedCounter{c, m.armed}, err
}

func (m armedMeter) Float64Histogram(name string, opts ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	h, err := m.Meter.Float64Histogram(name, opts...)
	return armedHistogram{h, m.armed}, err
}

type armedCounter struct {
	metric.Int64Counter
	armed *atomic.Bool
}

func (c armedCounter) Add(ctx context.Context, v int64, opts ...metric.AddOption) {
	if c.armed.Load() {
		panic("meter bug")
	}
	c.Int64Counter.Add(ctx, v, opts...)
}

type armedHistogram struct {
	metric.Float64Histogram
	armed *atomic.Bool
}

func (h armedHistogram) Record(ctx context.Context, v float64, opts ...metric.RecordOption) {
	if h.armed.Load() {
		panic("meter bug")
	}
	h.Float64Histogram.Record(ctx, v, opts...)
}

// roundTripPanic sends req through rt and returns the panic that reached
// the caller (nil: none), closing a response it got.
func roundTripPanic(rt http.RoundTripper, req *http.Request) (panicked any) {
	defer func() { panicked = recover() }()
	resp, err := rt.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
	}
	return nil
}

// checkMeterPanic sends a POST with a tracked body through rt, whose
// caller's meter is armed, and checks that the meter's panic reached the
// caller, the request's body and every response next returned are closed,
// and that next was called sent times.
func checkMeterPanic(t *testing.T, rt http.RoundTripper, next *transporttest.Responder, sent int) {
	t.Helper()
	body := transporttest.NewTrackedBody([]byte("payload"))
	req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/x", body)
	req.GetBody = nil
	if p := roundTripPanic(rt, req); p != "meter bug" {
		t.Fatalf("panic %v reached the caller, want the meter's", p)
	}
	if !body.Closed() {
		t.Error("the request body was left unclosed by the meter's panic")
	}
	if err := next.Unclosed(); err != nil {
		t.Error(err)
	}
	if next.Calls() != sent {
		t.Errorf("%d requests sent, want %d", next.Calls(), sent)
	}
}

// TestMeterPanicClosesBodies: a MeterProvider of the caller's whose
// instruments panic (a bug in it) in Add or Record, which the layers call
// with a request or a response in hand (a breaker's transition, counted
// under gobreaker's lock, a retry's stop, a throttle's wait, the traces'
// durations and attempt counts, a full host registry's forgotten hosts),
// left that body unclosed (a connection leaked, a caller's io.Pipe writer
// blocked for ever), a throttle's slot taken for the life of the process,
// the breaker's OnStateChange hook uncalled, a span unended. As for a
// panicking TracerProvider (bbf1103), the body in hand is closed, nothing
// stays held, and the panic goes on unchanged.
func TestMeterPanicClosesBodies(t *testing.T) {
	t.Run("breaker transition on the response", func(t *testing.T) {
		mp := newArmedMeterProvider(t)
		var changes atomic.Int32
		next := transporttest.NewResponder(transporttest.Respond(500, "down"))
		rt := newBreaker(t, next, transport.BreakerConfig{ConsecutiveFailures: 1, MeterProvider: mp,
			OnStateChange: func(string, transport.BreakerState, transport.BreakerState) { changes.Add(1) }})
		mp.armed.Store(true)
		checkMeterPanic(t, rt, next, 1)
		mp.armed.Store(false)
		if changes.Load() != 1 {
			t.Errorf("OnStateChange called %d times, want 1 (the breaker opened)", changes.Load())
		}
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
		if _, err := rt.RoundTrip(req); !errors.Is(err, transport.ErrCircuitOpen) {
			t.Errorf("next call: %v, want ErrCircuitOpen", err)
		}
	})
	t.Run("breaker transition on admission", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			mp := newArmedMeterProvider(t)
			next := transporttest.NewResponder(transporttest.Respond(500, "down"), transporttest.Respond(200, "ok"))
			rt := newBreaker(t, next, transport.BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: 10 * time.Second, MeterProvider: mp})
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
			if p := roundTripPanic(rt, req); p != nil {
				t.Fatal(p)
			}
			time.Sleep(11 * time.Second)
			mp.armed.Store(true) // open -> half-open, as the next call is admitted
			checkMeterPanic(t, rt, next, 1)
			mp.armed.Store(false)
			// The admission counted neither way: the next call is the probe.
			resp, err := rt.RoundTrip(req.Clone(req.Context()))
			if err != nil {
				t.Fatalf("the probe after the panic: %v", err)
			}
			resp.Body.Close()
			if next.Calls() != 2 {
				t.Errorf("%d requests sent, want 2", next.Calls())
			}
		})
	})
	t.Run("breaker forgotten host", func(t *testing.T) {
		mp := newArmedMeterProvider(t)
		next := transporttest.NewResponder(transporttest.Respond(200, "ok"), transporttest.Respond(200, "ok"))
		rt := newBreaker(t, next, transport.BreakerConfig{MaxHosts: 1, MeterProvider: mp})
		req, _ := http.NewRequest(http.MethodGet, "https://other.example.test/x", nil)
		if p := roundTripPanic(rt, req); p != nil {
			t.Fatal(p)
		}
		mp.armed.Store(true)
		checkMeterPanic(t, rt, next, 1)
	})
	t.Run("retry stop with the response", func(t *testing.T) {
		mp := newArmedMeterProvider(t)
		next := transporttest.NewResponder(transporttest.Respond(503, "busy"))
		rt, err := transport.NewRetry(next, transport.RetryConfig{MeterProvider: mp})
		if err != nil {
			t.Fatal(err)
		}
		mp.armed.Store(true) // a POST is not replayable: StopNotReplayable
		checkMeterPanic(t, rt, next, 1)
	})
	t.Run("retry give up with the response", func(t *testing.T) {
		mp := newArmedMeterProvider(t)
		next := transporttest.NewResponder(transporttest.Respond(503, "busy"))
		rt, err := transport.NewRetry(next, transport.RetryConfig{MeterProvider: mp, MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		mp.armed.Store(true)
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
		if p := roundTripPanic(rt, req); p != "meter bug" {
			t.Fatalf("panic %v reached the caller, want the meter's", p)
		}
		if err := next.Unclosed(); err != nil {
			t.Error(err)
		}
	})
	t.Run("throttle concurrency wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			mp := newArmedMeterProvider(t)
			release := make(chan struct{})
			var calls atomic.Int32
			next := roundTripFunc(func(req *http.Request) (*http.Response, error) {
				if calls.Add(1) == 1 {
					<-release // the first call holds the host's one slot
				}
				return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
			})
			rt, err := transport.NewThrottle(next, transport.ThrottleConfig{Limit: transport.HostLimit{MaxConcurrent: 1}, MeterProvider: mp})
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
				if resp, err := rt.RoundTrip(req); err == nil {
					resp.Body.Close() // the slot is given back
				}
			}()
			synctest.Wait()
			go func() {
				time.Sleep(time.Second)
				close(release)
			}()
			mp.armed.Store(true) // the second call waits for the slot: a wait is recorded
			body := transporttest.NewTrackedBody([]byte("payload"))
			req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/x", body)
			if p := roundTripPanic(rt, req); p != "meter bug" {
				t.Fatalf("panic %v reached the caller, want the meter's", p)
			}
			if !body.Closed() {
				t.Error("the request body was left unclosed by the meter's panic")
			}
			mp.armed.Store(false)
			// The slot was given back: the next call is let through.
			req, _ = http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatalf("next call: %v (the slot stayed taken)", err)
			}
			resp.Body.Close()
			if calls.Load() != 2 {
				t.Errorf("%d requests sent, want 2", calls.Load())
			}
		})
	})
	t.Run("throttle rate wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			mp := newArmedMeterProvider(t)
			next := transporttest.NewResponder(transporttest.Respond(200, "ok"), transporttest.Respond(200, "ok"))
			rt, err := transport.NewThrottle(next, transport.ThrottleConfig{Limit: transport.HostLimit{Rate: 1, Burst: 1}, MeterProvider: mp})
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
			if p := roundTripPanic(rt, req); p != nil {
				t.Fatal(p)
			}
			mp.armed.Store(true) // the bucket is empty: a wait is recorded
			checkMeterPanic(t, rt, next, 1)
		})
	})
	traced := func(t *testing.T, build func(next http.RoundTripper, cfg transport.TraceConfig) http.RoundTripper) {
		rig := newOtelRig(t, nil).twoLevel()
		mp := newArmedMeterProvider(t)
		rig.cfg.MeterProvider = mp
		next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
		rt := build(next, rig.cfg)
		mp.armed.Store(true)
		checkMeterPanic(t, rt, next, 1)
		if n := len(rig.ended()); n == 0 {
			t.Error("no span ended")
		}
	}
	t.Run("call trace", func(t *testing.T) {
		traced(t, func(next http.RoundTripper, cfg transport.TraceConfig) http.RoundTripper {
			return transport.NewCallTrace(next, cfg)
		})
	})
	t.Run("attempt trace", func(t *testing.T) {
		traced(t, func(next http.RoundTripper, cfg transport.TraceConfig) http.RoundTripper {
			return transport.NewAttemptScope(transport.NewAttemptTrace(next, cfg))
		})
	})
	t.Run("token request trace", func(t *testing.T) {
		traced(t, func(next http.RoundTripper, cfg transport.TraceConfig) http.RoundTripper {
			rt, err := transport.NewTokenRequests(next, transport.TokenRequestConfig{Trace: &cfg})
			if err != nil {
				t.Fatal(err)
			}
			return rt
		})
	})
}

// TestMeterPanicInHandshakeDoesNotCrash: the pin counters
// (securecall.tls.pin.mismatch, .expired) are counted inside the TLS
// handshake, which net/http's Transport makes on a goroutine of its own
// where no caller's recover reaches: a BaseConfig.MeterProvider whose
// counter panicked (a bug in it) ended the whole process. The panic is
// recovered and logged, as OnPinEvent's is (adef76e), and the pin check's
// verdict stands (report-only: the request goes on).
func TestMeterPanicInHandshakeDoesNotCrash(t *testing.T) {
	childtest.Run(t, func(t *testing.T) {
		w := newPKIWorld(t)
		evil := pkiServer(t, w.attacker.TLS, true, nil, nil)
		mp := newArmedMeterProvider(t)
		mp.armed.Store(true)
		b := pkiBase(t, transport.BaseConfig{
			TLSConfig: &tls.Config{RootCAs: testpki.Pool(w.ca, w.attackerCA)},
			Pins: []transport.PinSet{{Host: "api.example.test", ReportOnly: true,
				Pins: []string{testpki.Pin(w.leaf.Cert), testpki.Pin(w.ca.Cert)}}},
			MeterProvider: mp,
		}, evil)
		if _, body, err := pkiGet(t, b, "https://api.example.test/"); err != nil || body != "ok" {
			t.Fatalf("report-only mismatch: %q, %v; want ok, nil", body, err)
		}
	})
}

// TestMeterPanicReloadInRoundTripClosesBody: a client certificate reload
// found as a request is sent is counted in RoundTrip
// (securecall.tls.client_certificate.reload): a BaseConfig.MeterProvider
// whose counter panicked (a bug in it) left the request's body unclosed.
// The body is closed and the panic goes on; the reload stands, and the
// next call goes out with the new certificate.
func TestMeterPanicReloadInRoundTripClosesBody(t *testing.T) {
	m := newMTLSWorld(t, false)
	cc := pkiMust(transport.NewClientCertificateFromFiles(m.certFile, m.keyFile,
		transport.WithCertificateReloadInterval(time.Nanosecond)))
	mp := newArmedMeterProvider(t)
	b := pkiBase(t, transport.BaseConfig{ClientCertificate: cc, DialContext: pkiDialTo(m.srv), MeterProvider: mp}, nil, m.pki.ca)
	m.call(t, b, "/") // A
	if err := m.b.WriteFiles(m.certFile, m.keyFile); err != nil {
		t.Fatal(err)
	}
	mp.armed.Store(true)
	body := transporttest.NewTrackedBody([]byte("payload"))
	req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/", body)
	if p := roundTripPanic(b, req); p != "meter bug" {
		t.Fatalf("panic %v reached the caller, want the meter's", p)
	}
	if !body.Closed() {
		t.Error("the request body was left unclosed by the meter's panic")
	}
	mp.armed.Store(false)
	m.call(t, b, "/") // B
	if got, want := m.seen(), []string{"A", "B"}; !slices.Equal(got, want) {
		t.Fatalf("server saw %v, want %v", got, want)
	}
}
