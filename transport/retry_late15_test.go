package transport_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
)

// TestTotalTimeoutOnlyLateAnswer: a stack without an attempt timeout
// (client.WithAttemptTimeout(0)), whose net/http transport hands back an
// answer after the total timeout ran out and it canceled the request
// (lateAnswer), ends the call as the total timeout does: the retry layer
// took that answer for a success.
func TestTotalTimeoutOnlyLateAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &lateAnswer{}
		rt, err := transport.NewResilience(next, transport.ResilienceConfig{
			TotalTimeout: 2 * time.Second,
			Retry:        transport.RetryConfig{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond},
		})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := resGet(t, t.Context(), rt)
		if resp != nil {
			resp.Body.Close()
			t.Fatalf("a %d answer after the total timeout was returned", resp.StatusCode)
		}
		var re *transport.RetryError
		if !errors.As(err, &re) || !errors.Is(err, context.DeadlineExceeded) || re.Attempts != 1 || next.n.Load() != 1 {
			t.Fatalf("err %v, %d sent; want a *RetryError matching context.DeadlineExceeded after 1 attempt", err, next.n.Load())
		}
	})
}
