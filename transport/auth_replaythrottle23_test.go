package transport_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// countingQuota is a SharedQuota that grants every request and counts
// them.
type countingQuota struct{ n atomic.Int32 }

func (q *countingQuota) TakeQuota(context.Context, string) (time.Duration, error) {
	q.n.Add(1)
	return 0, nil
}

// rotatingSource hands out a new token each time it is asked, and lets
// any be invalidated.
type rotatingSource struct{ n atomic.Int32 }

func (s *rotatingSource) Token(context.Context) (tokens.Token, error) {
	return tokens.NewToken("t"+string(rune('0'+s.n.Add(1))), "Bearer", time.Time{}), nil
}
func (s *rotatingSource) Invalidate(tokens.Token) bool { return true }

// TestAuthReplayTakesThrottleToken: the auth layer's replay after a 401
// (the token refused, a new one fetched) is a second request to the host,
// sent from below the throttle: it went out without a token of the host's
// bucket and without its share of the fleet's quota (ThrottleConfig.Quota),
// so a rotation that 401s every call in flight sent twice the configured
// rate and spent the shared quota unaccounted. The replay now takes a token
// (waiting as the throttle does, within MaxWait and the deadline) and the
// quota before it goes out.
func TestAuthReplayTakesThrottleToken(t *testing.T) {
	for _, tc := range []struct {
		name  string
		below func(t *testing.T, next http.RoundTripper) http.RoundTripper
	}{
		{"auth", func(t *testing.T, next http.RoundTripper) http.RoundTripper {
			return newAuth(t, next, &rotatingSource{})
		}},
		{"apikey under an attempt timeout", func(t *testing.T, next http.RoundTripper) http.RoundTripper {
			rt, err := transport.NewAPIKey(next, transport.APIKeyConfig{Source: &rotatingSource{}, Scope: apiOrigins})
			if err != nil {
				t.Fatal(err)
			}
			if rt, err = transport.NewAttemptTimeout(rt, time.Hour); err != nil {
				t.Fatal(err)
			}
			return rt
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var sends []time.Duration
				start := time.Now()
				next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
					sends = append(sends, time.Since(start))
					if len(sends) == 1 {
						return &http.Response{StatusCode: http.StatusUnauthorized, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
					}
					return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
				})
				quota := &countingQuota{}
				th := newThrottle(t, tc.below(t, next), transport.ThrottleConfig{
					Limit:   transport.HostLimit{Rate: 1, Burst: 1},
					MaxWait: time.Minute,
					Quota:   quota,
				})
				rt := newRetry(t, th, transport.RetryConfig{MaxAttempts: 1, Budget: transport.BudgetConfig{Disabled: true}})
				for i := range 2 {
					req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
					resp, err := rt.RoundTrip(req)
					if err != nil {
						t.Fatalf("call %d: %v", i, err)
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("call %d: status %d", i, resp.StatusCode)
					}
				}
				if len(sends) != 3 {
					t.Fatalf("%d sends, want 3 (a 401, its replay, the second call)", len(sends))
				}
				if n := quota.n.Load(); n != 3 {
					t.Errorf("the shared quota was taken %d times for 3 sends", n)
				}
				// Rate 1/s, burst 1: the sends are a second apart (virtual
				// time).
				for i := 1; i < len(sends); i++ {
					if gap := sends[i] - sends[i-1]; gap < time.Second {
						t.Errorf("send %d went %v after send %d, under the rate of 1/s", i, gap, i-1)
					}
				}
			})
		})
	}
}

// A credential layer put below two throttles cannot tell which one a
// request came through: its replays are admitted by neither (and sent).
func TestAuthReplayTwoThrottlesLinksNone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sends := 0
		next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			sends++
			status := http.StatusOK
			if sends%2 == 1 {
				status = http.StatusUnauthorized
			}
			return &http.Response{StatusCode: status, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		})
		auth := newAuth(t, next, &rotatingSource{})
		quota := &countingQuota{}
		cfg := transport.ThrottleConfig{Quota: quota}
		th1, th2 := newThrottle(t, auth, cfg), newThrottle(t, auth, cfg)
		for _, th := range []http.RoundTripper{th1, th2} {
			rt := newRetry(t, th, transport.RetryConfig{MaxAttempts: 1, Budget: transport.BudgetConfig{Disabled: true}})
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		if sends != 4 || quota.n.Load() != 2 {
			t.Errorf("%d sends, quota taken %d times; want 4 sends, 2 takes (the replays admitted by neither throttle)", sends, quota.n.Load())
		}
	})
}

// A replay the throttle refuses (its wait beyond MaxWait) is not sent:
// the call fails with the throttle's *RateLimitError.
func TestAuthReplayRefusedByThrottle(t *testing.T) {
	for _, inStack := range []bool{true, false} {
		t.Run(map[bool]string{true: "in a stack", false: "standalone"}[inStack], func(t *testing.T) {
			testAuthReplayRefusedByThrottle(t, inStack)
		})
	}
}

func testAuthReplayRefusedByThrottle(t *testing.T, inStack bool) {
	synctest.Test(t, func(t *testing.T) {
		sends := 0
		next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			sends++
			return &http.Response{StatusCode: http.StatusUnauthorized, Header: http.Header{"Www-Authenticate": {`Bearer error="invalid_token"`}}, Body: http.NoBody, Request: req}, nil
		})
		th := newThrottle(t, newAuth(t, next, &rotatingSource{}), transport.ThrottleConfig{
			Limit:   transport.HostLimit{Rate: 0.01, Burst: 1},
			MaxWait: time.Second,
		})
		rt := th
		if inStack {
			rt = newRetry(t, th, transport.RetryConfig{MaxAttempts: 1, Budget: transport.BudgetConfig{Disabled: true}})
		}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
		resp, err := rt.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, transport.ErrRateLimited) {
			t.Errorf("err %v (status %v), want ErrRateLimited: the replay is over the rate", err, resp)
		}
		if sends != 1 {
			t.Errorf("%d sends, want 1 (the replay refused by the throttle)", sends)
		}
	})
}

// A half-open probe's replay after a 401 waits in the throttle for its
// token like any request; that wait is not the host's to answer, so it
// does not count against ProbeTimeout (BreakerConfig.ProbeTimeout), as the
// probe's first wait does not: a call arriving meanwhile is refused
// half-open, without declaring the probe failed, and the probe's success
// closes the breaker.
func TestAuthReplayHoldsProbeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sends atomic.Int32
		next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			status := http.StatusOK
			switch sends.Add(1) {
			case 1:
				status = http.StatusServiceUnavailable
			case 2:
				status = http.StatusUnauthorized
			}
			return &http.Response{StatusCode: status, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		})
		th := newThrottle(t, newAuth(t, next, &rotatingSource{}), transport.ThrottleConfig{
			Limit:   transport.HostLimit{Rate: 0.25, Burst: 1},
			MaxWait: time.Minute,
		})
		br := newBreaker(t, th, transport.BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: 10 * time.Second, ProbeTimeout: time.Second})
		rt := newRetry(t, br, transport.RetryConfig{MaxAttempts: 1, Budget: transport.BudgetConfig{Disabled: true}})
		call := func() (int, error) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				return 0, err
			}
			resp.Body.Close()
			return resp.StatusCode, nil
		}
		if code, err := call(); code != http.StatusServiceUnavailable {
			t.Fatalf("first call: %d %v, want 503", code, err)
		}
		time.Sleep(11 * time.Second) // half-open; the bucket full again
		probe := make(chan int)
		go func() {
			code, err := call() // 401, then its replay waits 4s for a token
			if err != nil {
				t.Errorf("probe: %v", err)
			}
			probe <- code
		}()
		time.Sleep(2 * time.Second) // the replay waiting, past ProbeTimeout
		if _, err := call(); !errors.Is(err, transport.ErrCircuitOpen) {
			t.Errorf("a call during the probe: %v, want refused", err)
		}
		if code := <-probe; code != http.StatusOK {
			t.Fatalf("probe: %d, want 200", code)
		}
		time.Sleep(5 * time.Second) // a token for the next call
		if code, err := call(); err != nil || code != http.StatusOK {
			t.Errorf("after the probe succeeded: %d %v, want 200 (the breaker closed)", code, err)
		}
	})
}
