package transport_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A caller's own key in the configured IdempotencyHeader is the call's key:
// it is sent unchanged on every attempt (not replaced by a generated one,
// which would defeat the server's deduplication of the caller's own
// resends), and it makes the call retryable.
func TestReview5CallerKeyInConfiguredHeaderKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(503, ""), transporttest.Respond(201, ""))
		generated := 0
		rt := newRetry(t, next, transport.RetryConfig{
			IdempotencyKeys:   true,
			IdempotencyHeader: "X-Request-Key",
			NewIdempotencyKey: func() (string, error) { generated++; return "generated", nil },
		})
		_, _, resp, err := resPost(t, t.Context(), rt, "x", "X-Request-Key", "mine")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		reqs := next.Requests()
		if len(reqs) != 2 {
			t.Fatalf("%d attempts, want 2", len(reqs))
		}
		for i, r := range reqs {
			if got := r.Header.Values("X-Request-Key"); len(got) != 1 || got[0] != "mine" {
				t.Errorf("attempt %d X-Request-Key %q, want the caller's [mine]", i, got)
			}
		}
		if generated != 0 {
			t.Errorf("%d keys generated for a call that has its own", generated)
		}
	})
}

// r5Hang answers 503, after waiting for hang to close when the path is
// /hang; it counts the requests that reached it.
type r5Hang struct {
	hang  chan struct{}
	mu    sync.Mutex
	calls int
}

func (h *r5Hang) RoundTrip(req *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.calls++
	h.mu.Unlock()
	if req.URL.Path == "/hang" {
		<-h.hang
	}
	return transporttest.NewResponder(transporttest.Respond(503, "down")).RoundTrip(req)
}

func (h *r5Hang) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

// The outcome of an attempt sent while the breaker was closed, arriving
// after it opened and its open timeout ran out, belongs to a past state
// (gobreaker discards such results by generation): it must not take the
// half-open probe's place and reopen the breaker, so the first request
// after the open timeout is sent as the probe.
func TestReview5BreakerStaleFailureIsNotTheProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &r5Hang{hang: make(chan struct{})}
		rt := newBreaker(t, next, transport.BreakerConfig{ConsecutiveFailures: 2, OpenTimeout: 10 * time.Second})
		const host = "https://api.example.test"
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = resSend(t, context.Background(), rt, host+"/hang") // sent while closed
		}()
		synctest.Wait()
		for range 2 {
			if code, err := resSend(t, t.Context(), rt, host+"/x"); code != 503 || err != nil {
				t.Fatalf("%d %v", code, err)
			}
		}
		if _, err := resSend(t, t.Context(), rt, host+"/x"); !errors.Is(err, transport.ErrCircuitOpen) {
			t.Fatalf("breaker not open: %v", err)
		}
		time.Sleep(11 * time.Second) // past the open timeout
		close(next.hang)             // the old attempt fails now
		<-done
		before := next.count()
		code, err := resSend(t, t.Context(), rt, host+"/x")
		if err != nil || next.count() != before+1 {
			t.Fatalf("request after the open timeout not sent as the probe: %d %v", code, err)
		}
	})
}

// A server wait that fits before the deadline is honoured: the jitter the
// layer adds on top of it is its own choice, and is trimmed to what fits
// instead of failing the call (here, without trimming, nearly every call
// would fail with a DeadlineError at random).
func TestReview5ServerWaitJitterTrimmedToTheDeadline(t *testing.T) {
	checkJitterTrimmed(t, func(cooldowns transport.CooldownStore) http.RoundTripper {
		next := transporttest.NewResponder(transporttest.Respond(429, "", "Retry-After", "10"), transporttest.Respond(200, "ok"))
		return newRetry(t, next, transport.RetryConfig{ServerWaitJitter: 1, Cooldowns: cooldowns, Budget: transport.BudgetConfig{Disabled: true}})
	})
}

// The same for a host cooldown another call set: its wait, with its
// jitter trimmed, is taken when the cooldown itself fits.
func TestReview5CooldownJitterTrimmedToTheDeadline(t *testing.T) {
	checkJitterTrimmed(t, func(cooldowns transport.CooldownStore) http.RoundTripper {
		next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
		rt := newRetry(t, next, transport.RetryConfig{ServerWaitJitter: 1, Cooldowns: cooldowns})
		cooldowns.SetCooldown("api.example.test", time.Now().Add(10*time.Second))
		return rt
	})
}

// checkJitterTrimmed makes 20 calls, each through the stack newCall builds
// (sharing one cooldown store) and under a deadline 200 ms past a 10 s
// wait with up to 100 % jitter: every call must succeed after waiting 10 s
// and at most 150 ms more.
func checkJitterTrimmed(t *testing.T, newCall func(transport.CooldownStore) http.RoundTripper) {
	synctest.Test(t, func(t *testing.T) {
		cooldowns := transport.NewCooldowns(0)
		for i := range 20 {
			rt := newCall(cooldowns)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second+200*time.Millisecond)
			start := time.Now()
			resp, err := resGet(t, ctx, rt)
			cancel()
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			resp.Body.Close()
			if waited := time.Since(start); waited < 10*time.Second || waited > 10*time.Second+150*time.Millisecond {
				t.Errorf("call %d waited %v", i, waited)
			}
			time.Sleep(time.Minute) // past the host's cooldown
		}
	})
}

// A call that stops for the deadline before a retry, because of a host
// cooldown another call set during its backoff, has discarded its last
// response: the RetryError says what that response's status was.
func TestReview5DeadlineAtCooldownKeepsLastStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cooldowns := transport.NewCooldowns(0)
		next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			// Another call, meanwhile, is told to hold off for 25 s
			// (within MaxRetryAfter, beyond the deadline).
			cooldowns.SetCooldown("api.example.test", time.Now().Add(25*time.Second))
			return &http.Response{StatusCode: 503, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		})
		rt := newRetry(t, next, transport.RetryConfig{Cooldowns: cooldowns, Backoff: resFixedBackoff(time.Millisecond)})
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err := resGet(t, ctx, rt)
		var re *transport.RetryError
		if !errors.As(err, &re) || re.Reason != transport.StopDeadline || re.Attempts != 1 {
			t.Fatalf("err %v", err)
		}
		if re.Status != 503 {
			t.Errorf("RetryError.Status %d, want the discarded response's 503", re.Status)
		}
	})
}

// The attempt's lazy deadline context, released (its body closed) before
// its deadline and first asked after the deadline, says it was cancelled,
// whichever method is asked first: Err did (TestAttemptDeadlineErrLatched),
// Done materialised a timer context already past its deadline and reported
// DeadlineExceeded, and Err then agreed with it.
func TestReview5AttemptDeadlineReleasedThenDone(t *testing.T) {
	for _, tc := range apTotals {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				next := &apCtxSeen{}
				rt := apStack(t, tc.total, time.Second, transport.RetryConfig{}, nil, next)
				resp, err := resGet(t, t.Context(), rt)
				if err != nil {
					t.Fatal(err)
				}
				ctx, _ := next.seen()
				resReadAll(t, resp) // released
				time.Sleep(2 * time.Second)
				<-ctx.Done() // Done first, after the deadline
				if err, c := ctx.Err(), context.Cause(ctx); !errors.Is(err, context.Canceled) || !errors.Is(c, context.Canceled) {
					t.Errorf("Err = %v, Cause = %v, want context.Canceled (the release came first)", err, c)
				}
			})
		})
	}
}

// FullJitterBackoff with the largest MaxDelay ("no cap") does not panic
// once the exponential reaches it (rand.Int64N(MaxInt64+1) would).
func TestReview5FullJitterBackoffUncapped(t *testing.T) {
	for _, n := range []int{0, 33, 34, 40, 62, 100} {
		d := transport.FullJitterBackoff(time.Second, math.MaxInt64, n, nil)
		if d < 0 {
			t.Errorf("attempt %d: %v", n, d)
		}
	}
}
