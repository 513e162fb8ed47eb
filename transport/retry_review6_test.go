package transport_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A next that breaks the http.RoundTripper contract by returning neither a
// response nor an error must not crash the retry layer (it already guards
// against the other breach, both at once): the attempt fails with an
// error, retried like any unknown failure, and the call ends with a
// *RetryError, never a nil response without an error.
func TestReview6RetryNextReturnsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		next := transporttest.RoundTripperFunc(func(*http.Request) (*http.Response, error) {
			calls++
			return nil, nil
		})
		rt := newRetry(t, next, transport.RetryConfig{})
		var resp *http.Response
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("the retry layer panicked: %v", r)
				}
			}()
			resp, err = resGet(t, t.Context(), rt)
		}()
		var re *transport.RetryError
		if resp != nil || !errors.As(err, &re) || re.Attempts != 3 || re.Reason != transport.StopAttempts {
			t.Fatalf("resp %v, err %v", resp, err)
		}
		if calls != 3 {
			t.Errorf("%d attempts, want 3 (a GET is replayable)", calls)
		}
	})
}

// trickleBody yields n bytes, one a second, like a server that dribbles
// out the body of an error response.
type trickleBody struct{ n int }

func (b *trickleBody) Read(p []byte) (int, error) {
	if b.n == 0 {
		return 0, io.EOF
	}
	time.Sleep(time.Second)
	b.n--
	p[0] = 'x'
	return 1, nil
}

func (b *trickleBody) Close() error { return nil }

// The time spent draining a discarded response counts toward the wait
// before the retry (which runs from the answer), and what is left of the
// wait must still fit before the deadline: the layer never sleeps into the
// deadline because a slow drain ate the room it had checked.
func TestReview6RetryDrainTimeCountsTowardTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		run := func(deadline time.Duration) (calls int, elapsed time.Duration, resp *http.Response, err error) {
			next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				calls++
				if calls == 1 {
					return &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"5"}}, Body: &trickleBody{n: 10}, Request: req}, nil
				}
				return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
			})
			rt := newRetry(t, next, transport.RetryConfig{ServerWaitJitter: -1, Budget: transport.BudgetConfig{Disabled: true}})
			ctx, cancel := context.WithTimeout(t.Context(), deadline)
			defer cancel()
			start := time.Now()
			resp, err = resGet(t, ctx, rt)
			return calls, time.Since(start), resp, err
		}

		// 10 s of draining cover the 5 s Retry-After: the retry goes at once.
		calls, elapsed, resp, err := run(12 * time.Second)
		if err != nil || resp.StatusCode != 200 || calls != 2 || elapsed != 10*time.Second {
			t.Errorf("12 s deadline: %d calls, %v, err %v", calls, elapsed, err)
		}

		// 10 s of draining leave 30 ms, less than MinAttemptTime: the call
		// fails at once with a *DeadlineError, not by sleeping into the
		// deadline.
		calls, elapsed, resp, err = run(10*time.Second + 30*time.Millisecond)
		var re *transport.RetryError
		var de *transport.DeadlineError
		if resp != nil || !errors.As(err, &re) || re.Reason != transport.StopDeadline || re.Status != 503 ||
			!errors.As(err, &de) || calls != 1 || elapsed != 10*time.Second {
			t.Errorf("10.03 s deadline: %d calls, %v, err %v", calls, elapsed, err)
		}
	})
}
