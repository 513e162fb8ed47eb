package transport_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// go-retryablehttp's CheckRetry returning (true, err) means "retry; if
// you cannot, fail with err" (its Client.Do ends with that error, the
// response drained and closed). The layer must not drop err when it stops.
func TestReview7CheckRetryErrorReportedWhenRetriesStop(t *testing.T) {
	policyErr := errors.New("policy: unexpected status")
	policy := func(_ context.Context, resp *http.Response, err error) (bool, error) {
		if resp != nil && resp.StatusCode >= 500 {
			return true, policyErr
		}
		return err != nil, nil
	}
	t.Run("attempts", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			next := transporttest.NewResponder(transporttest.Respond(503, ""))
			rt := newRetry(t, next, transport.RetryConfig{CheckRetry: policy, Budget: transport.BudgetConfig{Disabled: true}})
			resp, err := resGet(t, t.Context(), rt)
			var re *transport.RetryError
			if resp != nil || !errors.As(err, &re) || re.Reason != transport.StopAttempts || !errors.Is(err, policyErr) || re.Attempts != 3 || re.Status != 503 {
				t.Fatalf("resp %v, err %v", resp, err)
			}
			if err := next.Unclosed(); err != nil {
				t.Error(err)
			}
		})
	})
	t.Run("budget", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			next := transporttest.NewResponder(transporttest.Respond(503, ""))
			rt := newRetry(t, next, transport.RetryConfig{CheckRetry: policy, Backoff: resFixedBackoff(time.Millisecond),
				Budget: transport.BudgetConfig{Ratio: 0.01, MinRetries: -1}})
			_, err := resGet(t, t.Context(), rt)
			var re *transport.RetryError
			if !errors.As(err, &re) || re.Reason != transport.StopBudget || !errors.Is(err, policyErr) {
				t.Fatalf("err %v", err)
			}
		})
	})
	t.Run("deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			next := transporttest.NewResponder(transporttest.Respond(503, ""))
			rt := newRetry(t, next, transport.RetryConfig{CheckRetry: policy, Backoff: resFixedBackoff(10 * time.Second)})
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			_, err := resGet(t, ctx, rt)
			var re *transport.RetryError
			var de *transport.DeadlineError
			if !errors.As(err, &re) || re.Reason != transport.StopDeadline || !errors.As(err, &de) || !errors.Is(err, policyErr) {
				t.Fatalf("err %v", err)
			}
		})
	})
	t.Run("transport error kept", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
			next := transporttest.NewResponder(transporttest.Fail(reset))
			always := func(context.Context, *http.Response, error) (bool, error) { return true, policyErr }
			rt := newRetry(t, next, transport.RetryConfig{CheckRetry: always, Budget: transport.BudgetConfig{Disabled: true}})
			_, err := resGet(t, t.Context(), rt)
			if !errors.Is(err, policyErr) || !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("err %v, want both the policy's error and the attempt's", err)
			}
		})
	})
}
