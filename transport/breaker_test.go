package transport_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

func newBreaker(t testing.TB, next http.RoundTripper, cfg transport.BreakerConfig) http.RoundTripper {
	t.Helper()
	rt, err := transport.NewBreaker(next, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// send makes one GET to u through rt and closes the response.
func resSend(t testing.TB, ctx context.Context, rt http.RoundTripper, u string) (int, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// resSwitch answers with the current step, which the test changes.
type resSwitch struct {
	mu    sync.Mutex
	step  transporttest.Step
	calls int
	hang  chan struct{} // when non-nil, calls block until it is closed
}

func (s *resSwitch) set(st transporttest.Step) {
	s.mu.Lock()
	s.step = st
	s.mu.Unlock()
}

func (s *resSwitch) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *resSwitch) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.calls++
	st, hang := s.step, s.hang
	s.mu.Unlock()
	if hang != nil {
		<-hang
	}
	return transporttest.NewResponder(st).RoundTrip(req)
}

func TestBreakerConformance(t *testing.T) {
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		return newBreaker(t, next, transport.BreakerConfig{})
	})
}

func TestBreakerOpensOnConsecutiveFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &resSwitch{step: transporttest.Respond(503, "down")}
		rt := newBreaker(t, next, transport.BreakerConfig{OpenTimeout: 10 * time.Second})
		for i := range transport.DefaultBreakerConsecutiveFailures {
			if code, err := resSend(t, t.Context(), rt, resURL); err != nil || code != 503 {
				t.Fatalf("attempt %d: %d %v", i, code, err)
			}
		}
		// Open: the next request is refused without being sent, its body
		// closed.
		body := transporttest.NewTrackedBody([]byte("x"))
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, resURL, body)
		_, err := rt.RoundTrip(req)
		var ce *transport.CircuitOpenError
		if !errors.As(err, &ce) || !errors.Is(err, transport.ErrCircuitOpen) {
			t.Fatalf("err %v", err)
		}
		if ce.Host != "api.example.test" || ce.State != transport.BreakerOpen || !ce.Until.Equal(time.Now().Add(10*time.Second)) {
			t.Errorf("CircuitOpenError %+v (now %v)", ce, time.Now())
		}
		if !body.Closed() {
			t.Error("refused request's body not closed")
		}
		if next.count() != transport.DefaultBreakerConsecutiveFailures {
			t.Errorf("%d calls reached next, want %d", next.count(), transport.DefaultBreakerConsecutiveFailures)
		}
		if transport.ErrorType(err) != transport.ErrorTypeCircuitOpen {
			t.Errorf("ErrorType %q", transport.ErrorType(err))
		}
	})
}

func TestBreakerFailureRatio(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(
			transporttest.Respond(200, ""), transporttest.Respond(500, ""),
			transporttest.Respond(200, ""), transporttest.Respond(500, ""),
			transporttest.Respond(200, ""), transporttest.Respond(500, ""),
			transporttest.Respond(200, ""), transporttest.Respond(500, ""),
			transporttest.Respond(200, ""), transporttest.Respond(500, ""),
			transporttest.Respond(200, ""))
		rt := newBreaker(t, next, transport.BreakerConfig{MinRequests: 10, FailureRatio: 0.5, ConsecutiveFailures: -1})
		for i := range 9 {
			if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
				t.Fatalf("request %d refused after %d failures in %d: %v", i, (i+1)/2, i+1, err)
			}
		}
		// The 10th attempt fails: 5 of 10, the ratio is reached.
		if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
			t.Fatal(err)
		}
		if _, err := resSend(t, t.Context(), rt, resURL); !errors.Is(err, transport.ErrCircuitOpen) {
			t.Errorf("after 5 failures in 10: err %v", err)
		}
	})
}

// The window slides: failures older than Window no longer count.
func TestBreakerWindowSlides(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &resSwitch{step: transporttest.Respond(500, "")}
		rt := newBreaker(t, next, transport.BreakerConfig{MinRequests: 4, FailureRatio: 0.5, ConsecutiveFailures: -1, Window: 10 * time.Second})
		for range 3 {
			resSend(t, t.Context(), rt, resURL)
		}
		time.Sleep(11 * time.Second)
		next.set(transporttest.Respond(200, ""))
		for range 3 {
			resSend(t, t.Context(), rt, resURL)
		}
		next.set(transporttest.Respond(500, ""))
		// 4 in the window, 1 failure: stays closed.
		if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
			t.Fatal(err)
		}
		if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
			t.Errorf("old failures still counted: %v", err)
		}
	})
}

// 4xx, 429, 501, the caller's cancellation and client-side refusals never
// open the breaker.
func TestBreakerIgnores(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, step := range []transporttest.Step{
			transporttest.Respond(404, ""), transporttest.Respond(400, ""), transporttest.Respond(429, "", "Retry-After", "1"),
			transporttest.Respond(501, ""), transporttest.Fail(x509.UnknownAuthorityError{}),
			transporttest.Fail(transport.ErrEgressDenied), transporttest.Fail(&transport.RateLimitError{Host: "h"}),
		} {
			next := &resSwitch{step: step}
			rt := newBreaker(t, next, transport.BreakerConfig{})
			for range 20 {
				resSend(t, t.Context(), rt, resURL)
			}
			if next.count() != 20 {
				t.Errorf("%+v: only %d of 20 reached next", step, next.count())
			}
		}
		// The caller's own cancellation.
		next := &resSwitch{step: transporttest.Hang()}
		rt := newBreaker(t, next, transport.BreakerConfig{})
		for range 20 {
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			_, err := resSend(t, ctx, rt, resURL)
			cancel()
			if errors.Is(err, transport.ErrCircuitOpen) {
				t.Fatal("caller cancellations opened the breaker")
			}
		}
	})
}

// An attempt timeout (the attempt's own deadline, not the caller's) is a
// failure.
func TestBreakerCountsAttemptTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &resSwitch{step: transporttest.Hang()}
		at, err := transport.NewAttemptTimeout(next, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		rt := newBreaker(t, at, transport.BreakerConfig{ConsecutiveFailures: 3})
		for range 3 {
			if _, err := resSend(t, t.Context(), rt, resURL); !errors.As(err, new(*transport.AttemptTimeoutError)) {
				t.Fatalf("err %v", err)
			}
		}
		if _, err := resSend(t, t.Context(), rt, resURL); !errors.Is(err, transport.ErrCircuitOpen) {
			t.Errorf("3 attempt timeouts: err %v", err)
		}
	})
}

func TestBreakerHalfOpenProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var changes []string
		next := &resSwitch{step: transporttest.Respond(503, "")}
		rt := newBreaker(t, next, transport.BreakerConfig{
			ConsecutiveFailures: 2, OpenTimeout: 5 * time.Second, ProbeTimeout: time.Minute,
			OnStateChange: func(host string, from, to transport.BreakerState) {
				mu.Lock()
				changes = append(changes, fmt.Sprintf("%s:%s>%s", host, from, to))
				mu.Unlock()
			},
		})
		resSend(t, t.Context(), rt, resURL)
		resSend(t, t.Context(), rt, resURL)
		if _, err := resSend(t, t.Context(), rt, resURL); !errors.Is(err, transport.ErrCircuitOpen) {
			t.Fatalf("not open: %v", err)
		}
		time.Sleep(5*time.Second + time.Millisecond)

		// Half-open: one probe goes through (it hangs for now); everyone
		// else is refused.
		next.mu.Lock()
		next.hang = make(chan struct{})
		next.step = transporttest.Respond(200, "")
		next.mu.Unlock()
		probeDone := make(chan error, 1)
		go func() {
			_, err := resSend(t, t.Context(), rt, resURL)
			probeDone <- err
		}()
		synctest.Wait()
		for range 5 {
			_, err := resSend(t, t.Context(), rt, resURL)
			var ce *transport.CircuitOpenError
			if !errors.As(err, &ce) || ce.State != transport.BreakerHalfOpen {
				t.Fatalf("while probing: err %v", err)
			}
		}
		if next.count() != 3 {
			t.Errorf("%d calls reached next, want 2 failures + 1 probe", next.count())
		}
		next.mu.Lock()
		close(next.hang)
		next.hang = nil
		next.mu.Unlock()
		if err := <-probeDone; err != nil {
			t.Fatal(err)
		}
		// Closed again.
		for range 5 {
			if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
				t.Fatalf("after a good probe: %v", err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		want := "[api.example.test:closed>open api.example.test:open>half-open api.example.test:half-open>closed]"
		if fmt.Sprint(changes) != want {
			t.Errorf("state changes %v\nwant %s", changes, want)
		}
	})
}

func TestBreakerProbeFailureReopens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &resSwitch{step: transporttest.Fail(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})}
		rt := newBreaker(t, next, transport.BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: 5 * time.Second})
		resSend(t, t.Context(), rt, resURL)
		time.Sleep(5*time.Second + time.Millisecond)
		if _, err := resSend(t, t.Context(), rt, resURL); errors.Is(err, transport.ErrCircuitOpen) || err == nil {
			t.Fatalf("probe: err %v", err)
		}
		_, err := resSend(t, t.Context(), rt, resURL)
		var ce *transport.CircuitOpenError
		if !errors.As(err, &ce) || ce.State != transport.BreakerOpen || !ce.Until.Equal(time.Now().Add(5*time.Second)) {
			t.Errorf("after a failed probe: %v", err)
		}
		if next.count() != 2 {
			t.Errorf("%d calls", next.count())
		}
	})
}

// A probe that never answers cannot keep the breaker half-open: after
// ProbeTimeout it counts as failed, the breaker opens again, and a new
// probe goes through after OpenTimeout.
func TestBreakerProbeTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &resSwitch{step: transporttest.Respond(503, "")}
		rt := newBreaker(t, next, transport.BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: 5 * time.Second, ProbeTimeout: 3 * time.Second})
		resSend(t, t.Context(), rt, resURL)
		time.Sleep(5*time.Second + time.Millisecond)
		hang := make(chan struct{})
		next.mu.Lock()
		next.hang, next.step = hang, transporttest.Respond(200, "")
		next.mu.Unlock()
		stuck := make(chan struct{})
		go func() {
			defer close(stuck)
			resSend(t, t.Context(), rt, resURL) // the probe, stuck
		}()
		synctest.Wait()
		time.Sleep(3 * time.Second)
		_, err := resSend(t, t.Context(), rt, resURL)
		var ce *transport.CircuitOpenError
		if !errors.As(err, &ce) || ce.State != transport.BreakerOpen {
			t.Fatalf("after the probe timeout: err %v", err)
		}
		next.mu.Lock()
		next.hang = nil
		next.mu.Unlock()
		time.Sleep(5*time.Second + time.Millisecond)
		if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
			t.Fatalf("second probe: %v", err)
		}
		if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
			t.Fatalf("after the second probe: %v", err)
		}
		close(hang)
		<-stuck
		// The stuck probe's late success changes nothing.
		if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBreakerPerHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			code := 200
			if req.URL.Host == "down.example.test" {
				code = 503
			}
			return &http.Response{StatusCode: code, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		})
		rt := newBreaker(t, next, transport.BreakerConfig{ConsecutiveFailures: 2})
		for range 3 {
			resSend(t, t.Context(), rt, "https://down.example.test/")
		}
		if _, err := resSend(t, t.Context(), rt, "https://down.example.test/"); !errors.Is(err, transport.ErrCircuitOpen) {
			t.Errorf("down host: %v", err)
		}
		if _, err := resSend(t, t.Context(), rt, "https://up.example.test/"); err != nil {
			t.Errorf("other host: %v", err)
		}
	})
}

func TestBreakerEventsAndMetric(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		rt := newBreaker(t, transporttest.NewResponder(transporttest.Respond(500, "")), transport.BreakerConfig{ConsecutiveFailures: 1, MeterProvider: mp})
		events := resSpanEvents(t, func(ctx context.Context) {
			resSend(t, ctx, rt, resURL)
			resSend(t, ctx, rt, resURL)
		})
		if len(events) != 2 || events[0].Name != transport.EventBreakerStateChanged || events[1].Name != transport.EventBreakerRejected {
			t.Fatalf("events %v", events)
		}
		if resEventAttr(events[0], transport.BreakerStateKey).AsString() != "open" || resEventAttr(events[0], transport.BreakerFromKey).AsString() != "closed" {
			t.Errorf("state event %v", events[0].Attributes)
		}
		if resEventAttr(events[1], transport.BreakerRetryInKey).AsFloat64() != transport.DefaultBreakerOpenTimeout.Seconds() {
			t.Errorf("rejected event %v", events[1].Attributes)
		}
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != transport.MetricBreakerTransitions {
					continue
				}
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					if v, _ := dp.Attributes.Value(transport.BreakerStateKey); v.AsString() == "open" && dp.Value == 1 {
						found = true
					}
				}
			}
		}
		if !found {
			t.Errorf("no transition to open recorded: %+v", rm)
		}
	})
}

// While closed, a successful attempt costs no allocation: gobreaker (and
// its lock) is not involved.
func TestBreakerClosedPathNoAllocs(t *testing.T) {
	resp := &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody}
	next := transporttest.RoundTripperFunc(func(*http.Request) (*http.Response, error) { return resp, nil })
	rt := newBreaker(t, next, transport.BreakerConfig{})
	req, _ := http.NewRequest(http.MethodGet, resURL, nil)
	rt.RoundTrip(req)
	if n := testing.AllocsPerRun(200, func() { rt.RoundTrip(req) }); n != 0 {
		t.Errorf("%v allocations per closed-state request", n)
	}
}

func TestBreakerConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg    transport.BreakerConfig
		option string
	}{
		{transport.BreakerConfig{FailureRatio: 1.5}, "BreakerConfig.FailureRatio"},
		{transport.BreakerConfig{FailureRatio: -1}, "BreakerConfig.FailureRatio"},
		{transport.BreakerConfig{MinRequests: -1}, "BreakerConfig.MinRequests"},
		{transport.BreakerConfig{Window: time.Millisecond}, "BreakerConfig.Window"},
		{transport.BreakerConfig{OpenTimeout: -1}, "BreakerConfig.OpenTimeout"},
		{transport.BreakerConfig{ProbeTimeout: -1}, "BreakerConfig.ProbeTimeout"},
		{transport.BreakerConfig{MaxHosts: -1}, "BreakerConfig.MaxHosts"},
	} {
		_, err := transport.NewBreaker(nil, tc.cfg)
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.option {
			t.Errorf("%+v: err %v, want a ConfigError for %s", tc.cfg, err, tc.option)
		}
	}
}
