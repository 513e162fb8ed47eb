package transport_test

import (
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A half-open probe that has not answered after ProbeTimeout is counted
// as failed, which opens the breaker again. When that probe then fails
// after all, late, its failure was counted a second time, in the state
// the breaker had reached meanwhile: once a later probe had closed the
// breaker, the stale failure sat in the closed state's counts and
// consecutive failures, so that one real failure (ConsecutiveFailures 2)
// opened the breaker again. The late outcome belongs to a past state and
// is not counted, as an attempt sent on the closed fast path whose
// breaker changed state meanwhile is not.
func TestBreakerTimedOutProbeLateFailureNotCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mode atomic.Int32 // 0: 503; 1: the stuck probe; 2: 200
		release := make(chan struct{})
		next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			st := 503
			switch mode.Load() {
			case 1:
				<-release
			case 2:
				st = 200
			}
			return &http.Response{StatusCode: st, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		})
		var opened atomic.Int32
		rt := newBreaker(t, next, transport.BreakerConfig{
			ConsecutiveFailures: 2, MinRequests: 100, OpenTimeout: 5 * time.Second, ProbeTimeout: 3 * time.Second,
			OnStateChange: func(_ string, _, to transport.BreakerState) {
				if to == transport.BreakerOpen {
					opened.Add(1)
				}
			},
		})
		for range 2 {
			resSend(t, t.Context(), rt, resURL)
		}
		if opened.Load() != 1 {
			t.Fatalf("opened %d times, want 1", opened.Load())
		}
		time.Sleep(5*time.Second + time.Millisecond)
		mode.Store(1)
		stuck := make(chan struct{})
		go func() {
			defer close(stuck)
			resSend(t, t.Context(), rt, resURL) // the probe, stuck, then 503
		}()
		synctest.Wait()
		time.Sleep(3 * time.Second)
		if _, err := resSend(t, t.Context(), rt, resURL); !errors.Is(err, transport.ErrCircuitOpen) {
			t.Fatalf("after the probe timeout: err %v, want ErrCircuitOpen", err)
		}
		mode.Store(2)
		time.Sleep(5*time.Second + time.Millisecond)
		if st, err := resSend(t, t.Context(), rt, resURL); err != nil || st != 200 {
			t.Fatalf("second probe: %d %v", st, err) // closes the breaker
		}
		mode.Store(0)
		close(release)
		<-stuck // the stuck probe's late 503
		if st, err := resSend(t, t.Context(), rt, resURL); err != nil || st != 503 {
			t.Fatalf("one failure after closing: %d %v", st, err)
		}
		if n := opened.Load(); n != 2 {
			t.Errorf("opened %d times, want 2 (once, then again on the probe timeout): the timed-out probe's late failure and one real failure opened it, ConsecutiveFailures 2", n)
		}
		if _, err := resSend(t, t.Context(), rt, resURL); errors.Is(err, transport.ErrCircuitOpen) {
			t.Errorf("after one real failure: %v", err)
		}
	})
}
