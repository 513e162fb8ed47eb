package transport_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestBudgetDoesNotCountRefusedCallsCanceledBeforeRetry: a call whose
// first attempt a layer below refused before sending (the auth layer
// without a token, the token endpoint down, here: a Temporary AuthError)
// and whose caller gave up while it waited for its retry reached the host
// with none of its attempts; it is no call to the host, as one whose
// every attempt was refused is (5eb2957), and earns no retries for the
// calls after it. Before, the retry's re-count of the call stayed when
// the wait was canceled (and when GetBody failed), so a run of such calls
// let the calls that followed retry past Ratio of their own number.
func TestBudgetDoesNotCountRefusedCallsCanceledBeforeRetry(t *testing.T) {
	for _, stop := range []transport.StopReason{transport.StopCanceled, transport.StopBody} {
		t.Run(string(stop), func(t *testing.T) { budgetRefusedThenStopped(t, stop) })
	}
}

// budgetRefusedThenStopped runs calls whose first attempt is refused
// below and whose retry is stopped before it is sent (the caller cancels
// the wait, or GetBody fails), then calls to a host answering 503, and
// checks that only the latter earned retries.
func budgetRefusedThenStopped(t *testing.T, stop transport.StopReason) {
	synctest.Test(t, func(t *testing.T) {
		const refused, calls = 50, 10
		noToken := true
		sent := 0
		next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			if noToken {
				// The token endpoint is down: no credential, nothing sent.
				return nil, &transport.AuthError{Layer: "auth", Err: errTokenEndpointDown}
			}
			sent++
			return &http.Response{StatusCode: 503, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		})
		budget := transport.BudgetConfig{Ratio: 1, MinRetries: -1, Window: time.Minute}
		rt := newRetry(t, next, transport.RetryConfig{MaxAttempts: 3, Backoff: resFixedBackoff(time.Second), Budget: budget})
		stopped := 0
		for range refused {
			ctx, cancel := context.WithCancel(t.Context())
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, resURL, nil)
			if stop == transport.StopCanceled {
				time.AfterFunc(500*time.Millisecond, cancel)
			} else {
				req.Body = io.NopCloser(strings.NewReader("q"))
				req.GetBody = func() (io.ReadCloser, error) { return nil, errors.New("body gone") }
			}
			resp, err := rt.RoundTrip(req)
			cancel()
			if err == nil {
				resp.Body.Close()
				t.Fatal("a call without a token succeeded")
			}
			if re, ok := errors.AsType[*transport.RetryError](err); ok && re.Reason == stop {
				stopped++
			}
		}
		if stopped == 0 {
			t.Fatalf("no call's retry was stopped with %s: the test does not test it", stop)
		}
		noToken = false
		for range calls {
			if resp, err := resGet(t, t.Context(), rt); err == nil {
				resp.Body.Close()
			}
		}
		// calls first attempts, and at most Ratio*calls retries.
		if max := calls * 2; sent > max {
			t.Errorf("%d attempts sent for %d calls after %d refused ones stopped before their retry, want at most %d (retries earned by calls the host never saw)", sent, calls, refused, max)
		}
	})
}

var errTokenEndpointDown = errors.New("token endpoint: connection refused")
