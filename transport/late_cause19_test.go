package transport_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

var errTooSlow = errors.New("upstream budget spent")

// An answer the transport hands back after the caller's deadline ran out
// and it canceled the request (net/http returns one that reached the
// connection meanwhile) is failed as the deadline's, as if the
// cancellation had won. A caller whose deadline carries a cause
// (context.WithTimeoutCause), which net/http returns for a cancellation
// that wins, got a bare context.DeadlineExceeded instead: the cause was
// lost. The late answer's error is now context.Cause of the deadline.
func TestLateAnswerKeepsDeadlineCause(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(http.RoundTripper) (http.RoundTripper, error)
	}{
		{"retry", func(n http.RoundTripper) (http.RoundTripper, error) {
			return transport.NewRetry(n, transport.RetryConfig{MaxAttempts: 1})
		}},
		{"attempt-timeout", func(n http.RoundTripper) (http.RoundTripper, error) {
			return transport.NewAttemptTimeout(n, time.Hour)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				next := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
					<-r.Context().Done() // answered as the cancellation lands
					return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
				})
				rt, err := tc.wrap(next)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeoutCause(t.Context(), time.Second, errTooSlow)
				defer cancel()
				resp, err := resGet(t, ctx, rt)
				if resp != nil {
					resp.Body.Close()
					t.Fatalf("a late %d answer was returned", resp.StatusCode)
				}
				if !errors.Is(err, errTooSlow) {
					t.Errorf("err = %v, want the deadline's cause %v", err, errTooSlow)
				}
			})
		})
	}
}
