package transport_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
)

// armedQuota is a SharedQuota of the caller's with a bug that shows once
// it is armed: TakeQuota panics.
type armedQuota struct{ armed atomic.Bool }

func (q *armedQuota) TakeQuota(context.Context, string) (time.Duration, error) {
	if q.armed.Load() {
		panic("quota bug")
	}
	return 0, nil
}

// TestBreakerProbePanicBelowDoesNotWedge: a half-open probe whose send
// panicked below the breaker (a bug in a caller's component there: a
// throttle's Quota, a caller's layer or base transport) was never
// reported to the breaker, which kept it as the probe in flight: every
// later call was refused half-open, until ProbeTimeout declared it failed
// and opened the breaker again for OpenTimeout (a host that was back
// refused for both); a probe held by a throttle below (whose Quota
// panicked) has no clock at all, and the breaker refused every call for
// the life of the process. The admitted probe is released (excluded:
// nothing is known of the host) and the panic goes on unchanged: the next
// call is the new probe, and its success closes the breaker.
func TestBreakerProbePanicBelowDoesNotWedge(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(next http.RoundTripper, q *armedQuota) (http.RoundTripper, error)
		arm   func(mode *atomic.Int32, q *armedQuota)
		want  any
	}{
		{"next panics", func(next http.RoundTripper, _ *armedQuota) (http.RoundTripper, error) {
			return next, nil
		}, func(mode *atomic.Int32, _ *armedQuota) { mode.Store(1) }, "layer bug"},
		{"throttle Quota panics", func(next http.RoundTripper, q *armedQuota) (http.RoundTripper, error) {
			return transport.NewThrottle(next, transport.ThrottleConfig{Quota: q})
		}, func(_ *atomic.Int32, q *armedQuota) { q.armed.Store(true) }, "quota bug"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mode atomic.Int32 // 0: 503; 1: panic (a caller's layer); 2: 200
				var sent atomic.Int32
				next := &probeNext{fn: func(req *http.Request) (*http.Response, error) {
					sent.Add(1)
					st := 503
					switch mode.Load() {
					case 1:
						panic("layer bug")
					case 2:
						st = 200
					}
					return &http.Response{StatusCode: st, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("ok")), Request: req}, nil
				}}
				q := &armedQuota{}
				below, err := tc.build(next, q)
				if err != nil {
					t.Fatal(err)
				}
				var states []transport.BreakerState
				brk := newBreaker(t, below, transport.BreakerConfig{
					ConsecutiveFailures: 1, OpenTimeout: 10 * time.Second, ProbeTimeout: 5 * time.Second,
					OnStateChange: func(_ string, _, to transport.BreakerState) { states = append(states, to) },
				})
				send := func() (*http.Response, error) {
					req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
					return brk.RoundTrip(transport.BeginAttempt(req, 0))
				}
				if resp, err := send(); err != nil || resp.StatusCode != 503 {
					t.Fatalf("first: %v %v", resp, err)
				} else {
					resp.Body.Close()
				}
				time.Sleep(10*time.Second + time.Millisecond) // open timeout over

				tc.arm(&mode, q)
				var panicked any
				func() {
					defer func() { panicked = recover() }()
					if resp, err := send(); err == nil {
						resp.Body.Close()
					}
				}()
				if panicked != tc.want {
					t.Fatalf("the probe: panic %v, want %v", panicked, tc.want)
				}

				// The bug fixed: the next call is the new probe.
				q.armed.Store(false)
				mode.Store(2)
				resp, err := send()
				if err != nil {
					t.Fatalf("the call after the probe's panic: %v; want it let through as the new probe (the breaker is wedged half-open)", err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("status %d", resp.StatusCode)
				}
				want := []transport.BreakerState{transport.BreakerOpen, transport.BreakerHalfOpen, transport.BreakerClosed}
				if !equalStates(states, want) {
					t.Errorf("states %v, want %v (the panicked probe counts for nothing)", states, want)
				}
				if resp, err := send(); err != nil {
					t.Errorf("after the breaker closed: %v", err)
				} else {
					resp.Body.Close()
				}
			})
		})
	}
}
