package transport_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A call whose context had ended before it reached the retry layer was
// made as one attempt: the layers below (breaker, throttle, attempt trace)
// saw it and the audit log, the call span and the attempt counter counted
// it, though net/http refuses such a request before dialing; the
// *RetryError said 1 attempt. No attempt starts: Attempts 0, StopCanceled,
// Last the context's error (its cause when it has one), the body closed,
// next never called.
func TestRetryContextEndedBeforeCallMakesNoAttempt(t *testing.T) {
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	caused, cancelCause := context.WithCancelCause(t.Context())
	cancelCause(errShutdown)
	expired, cancelExpired := context.WithDeadline(t.Context(), time.Unix(1, 0))
	defer cancelExpired()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want error
		typ  string
	}{
		{"canceled", canceled, context.Canceled, transport.ErrorTypeCanceled},
		{"cause", caused, errShutdown, transport.ErrorTypeCanceled},
		{"deadline", expired, context.DeadlineExceeded, transport.ErrorTypeTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			next := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
				calls++
				return nil, context.Cause(r.Context())
			})
			rt, err := transport.NewRetry(next, transport.RetryConfig{})
			if err != nil {
				t.Fatal(err)
			}
			body := transporttest.NewTrackedBody([]byte("x"))
			req, _ := http.NewRequestWithContext(tc.ctx, http.MethodPut, "https://api.example.test/x", body)
			_, err = rt.RoundTrip(req)
			re, ok := errors.AsType[*transport.RetryError](err)
			if !ok {
				t.Fatalf("err = %v, want a *RetryError", err)
			}
			if re.Attempts != 0 || re.Reason != transport.StopCanceled {
				t.Errorf("Attempts = %d, Reason = %s; want 0, %s", re.Attempts, re.Reason, transport.StopCanceled)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if got := transport.ErrorType(err); tc.want != errShutdown && got != tc.typ {
				t.Errorf("ErrorType = %s, want %s", got, tc.typ)
			}
			if calls != 0 {
				t.Errorf("next called %d times, want 0", calls)
			}
			if body.CloseCount() != 1 {
				t.Errorf("body closed %d times, want 1", body.CloseCount())
			}
		})
	}
}
