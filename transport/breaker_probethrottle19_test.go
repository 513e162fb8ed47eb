package transport_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
)

// A half-open probe's timeout ran from its admission by the breaker, so it
// included the time the probe then waited in the throttle below (up to
// Throttle.MaxWait): a healthy host whose probe had waited for a slot was
// declared failed by the next request and its breaker opened again. The
// probe's clock now starts when the throttle lets it through: it is judged
// on its own send. A probe that does not answer within ProbeTimeout of
// being sent still fails.
func TestBreakerProbeTimeoutExcludesThrottleWait(t *testing.T) {
	std := transport.StandardPreset()
	for _, tc := range []struct {
		name               string
		probeTimeout, wait time.Duration // wait: the probe's in the throttle
		maxWait, answer    time.Duration // answer: after the probe is sent
		slow               bool          // no answer within probeTimeout
	}{
		// StandardPreset's values: probe 10 s, throttle waits up to 5 s;
		// the probe waits 4.9 s and is answered 6 s after it is sent.
		{name: "standard", probeTimeout: std.Breaker.ProbeTimeout, maxWait: std.Throttle.MaxWait, wait: 4900 * time.Millisecond, answer: 6 * time.Second},
		{name: "wait6s", probeTimeout: 5 * time.Second, maxWait: 8 * time.Second, wait: 6 * time.Second, answer: time.Second},
		{name: "slow", probeTimeout: 5 * time.Second, maxWait: 8 * time.Second, wait: 6 * time.Second, slow: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mode atomic.Int32 // 0: 503; 1: the probe's answer; 2: 200 at once
				var sent atomic.Int32
				release := make(chan struct{}) // ends a slow probe
				defer func() {
					select {
					case <-release:
					default:
						close(release)
					}
				}()
				next := &probeNext{fn: func(req *http.Request) (*http.Response, error) {
					sent.Add(1)
					st := 503
					switch mode.Load() {
					case 1:
						if tc.slow {
							<-release
						} else {
							time.Sleep(tc.answer)
						}
						st = 200
					case 2:
						st = 200
					}
					return &http.Response{StatusCode: st, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("ok")), Request: req}, nil
				}}
				thr, err := transport.NewThrottle(next, transport.ThrottleConfig{
					Limit:   transport.HostLimit{MaxConcurrent: 1},
					MaxWait: tc.maxWait,
				})
				if err != nil {
					t.Fatal(err)
				}
				var states []transport.BreakerState
				brk := newBreaker(t, thr, transport.BreakerConfig{
					ConsecutiveFailures: 1, OpenTimeout: 10 * time.Second, ProbeTimeout: tc.probeTimeout,
					OnStateChange: func(_ string, _, to transport.BreakerState) { states = append(states, to) },
				})
				send := func(rt http.RoundTripper) (*http.Response, error) {
					req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
					return rt.RoundTrip(transport.BeginAttempt(req, 0))
				}
				if resp, err := send(brk); err != nil || resp.StatusCode != 503 {
					t.Fatalf("first: %v %v", resp, err)
				} else {
					resp.Body.Close()
				}
				time.Sleep(10*time.Second + time.Millisecond) // open timeout over

				// Another request (of a replica's layer above the throttle,
				// or one sent before the breaker opened) holds the host's
				// one slot for tc.wait.
				mode.Store(2)
				held, err := send(thr)
				if err != nil {
					t.Fatal(err)
				}
				mode.Store(1)
				admitted := time.Now()
				probeDone := make(chan error, 1)
				go func() {
					resp, err := send(brk)
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode != 200 {
							err = errors.New(resp.Status)
						}
					}
					probeDone <- err
				}()
				synctest.Wait() // the probe waits for the slot
				time.Sleep(tc.wait)
				held.Body.Close()
				synctest.Wait() // the probe is sent
				if n := sent.Load(); n != 3 {
					t.Fatalf("%d sends, want 3 (the probe sent after its wait)", n)
				}
				sentAt := time.Now()

				// Past ProbeTimeout from the probe's admission, not from its
				// send: another request is refused, half-open.
				time.Sleep(time.Until(admitted.Add(tc.probeTimeout)) + time.Millisecond)
				_, err = send(brk)
				var coe *transport.CircuitOpenError
				if !errors.As(err, &coe) || coe.State != transport.BreakerHalfOpen {
					t.Errorf("%v after the probe's admission, %v after its send: err %v, want a half-open refusal (the probe's throttle wait is not its own)",
						time.Since(admitted), time.Since(sentAt), err)
				}
				if tc.slow {
					time.Sleep(time.Until(sentAt.Add(tc.probeTimeout)) + time.Millisecond)
					_, err = send(brk)
					if !errors.As(err, &coe) || coe.State != transport.BreakerOpen {
						t.Errorf("past ProbeTimeout after the probe's send: err %v, want an open refusal (the slow probe failed)", err)
					}
					release <- struct{}{}
					if err := <-probeDone; err != nil {
						t.Fatal(err)
					}
					if want := []transport.BreakerState{transport.BreakerOpen, transport.BreakerHalfOpen, transport.BreakerOpen}; !equalStates(states, want) {
						t.Errorf("states %v, want %v", states, want)
					}
					return
				}
				if err := <-probeDone; err != nil {
					t.Fatalf("probe: %v", err)
				}
				if want := []transport.BreakerState{transport.BreakerOpen, transport.BreakerHalfOpen, transport.BreakerClosed}; !equalStates(states, want) {
					t.Errorf("states %v, want %v (the healthy probe closes the breaker)", states, want)
				}
				mode.Store(2)
				if resp, err := send(brk); err != nil {
					t.Errorf("after the probe: %v", err)
				} else {
					resp.Body.Close()
				}
			})
		})
	}
}

type probeNext struct {
	fn func(*http.Request) (*http.Response, error)
}

func (p *probeNext) RoundTrip(req *http.Request) (*http.Response, error) { return p.fn(req) }

func equalStates(a, b []transport.BreakerState) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The same through NewResilience's stack (breaker above throttle, one
// Attempt per send): the probe waits 6 s for a token and is answered in
// 1 s; a request 5.5 s after its admission (ProbeTimeout 5 s) is refused
// half-open, and the probe closes the breaker.
func TestBreakerProbeTimeoutExcludesThrottleWaitStack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mode atomic.Int32 // 0: 503; 1: 200 after 1 s
		next := &probeNext{fn: func(req *http.Request) (*http.Response, error) {
			st := 503
			if mode.Load() == 1 {
				time.Sleep(time.Second)
				st = 200
			}
			return &http.Response{StatusCode: st, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("ok")), Request: req}, nil
		}}
		cfg := transport.StandardPreset()
		cfg.AttemptTimeout = 5 * time.Second
		cfg.Retry.MaxAttempts = 1
		cfg.Breaker.ConsecutiveFailures = 1
		cfg.Breaker.OpenTimeout = 4 * time.Second
		cfg.Breaker.ProbeTimeout = 5 * time.Second
		var states []transport.BreakerState
		cfg.Breaker.OnStateChange = func(_ string, _, to transport.BreakerState) { states = append(states, to) }
		cfg.Throttle.MaxWait = 8 * time.Second
		cfg.Throttle.Limit = transport.HostLimit{Rate: 0.1, Burst: 1} // a token every 10 s
		rt, err := transport.NewResilience(next, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if st, err := resSend(t, t.Context(), rt, resURL); err != nil || st != 503 {
			t.Fatalf("first: %d %v", st, err) // opens; its token was the bucket's
		}
		time.Sleep(4*time.Second + time.Millisecond)
		mode.Store(1)
		probeDone := make(chan error, 1)
		go func() {
			st, err := resSend(t, t.Context(), rt, resURL) // waits ~6 s for a token
			if err == nil && st != 200 {
				err = errors.New(http.StatusText(st))
			}
			probeDone <- err
		}()
		synctest.Wait()
		time.Sleep(5500 * time.Millisecond) // past ProbeTimeout from the admission, still waiting
		_, err = resSend(t, t.Context(), rt, resURL)
		var coe *transport.CircuitOpenError
		if !errors.As(err, &coe) || coe.State != transport.BreakerHalfOpen {
			t.Errorf("while the probe waits for a token: err %v, want a half-open refusal", err)
		}
		if err := <-probeDone; err != nil {
			t.Fatalf("probe: %v", err)
		}
		if want := []transport.BreakerState{transport.BreakerOpen, transport.BreakerHalfOpen, transport.BreakerClosed}; !equalStates(states, want) {
			t.Errorf("states %v, want %v (the healthy probe closes the breaker)", states, want)
		}
	})
}
