package transport_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// laterCooldowns reports no cooldown on its first read, and one beyond
// the test's deadline (within MaxRetryAfter) after that: another call set
// it meanwhile.
type laterCooldowns struct{ reads atomic.Int32 }

func (c *laterCooldowns) CooldownUntil(string) time.Time {
	if c.reads.Add(1) == 1 {
		return time.Time{}
	}
	return time.Now().Add(25 * time.Second)
}

func (c *laterCooldowns) SetCooldown(string, time.Time) {}

// CheckRetry's (true, err) is kept when the retry it asked for is then
// stopped by a cooldown that no longer fits the deadline (a deadline stop,
// like the others the docs list), not only when the wait itself does not.
func TestSecond7aCheckRetryErrorKeptWhenCooldownStopsRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		policyErr := errors.New("policy: unexpected status")
		policy := func(_ context.Context, resp *http.Response, err error) (bool, error) {
			if resp != nil && resp.StatusCode >= 500 {
				return true, policyErr
			}
			return err != nil, nil
		}
		next := transporttest.NewResponder(transporttest.Respond(503, "down"))
		rt := newRetry(t, next, transport.RetryConfig{CheckRetry: policy, Backoff: resFixedBackoff(time.Millisecond),
			Cooldowns: &laterCooldowns{}, Budget: transport.BudgetConfig{Disabled: true}})
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		resp, err := resGet(t, ctx, rt)
		var re *transport.RetryError
		var de *transport.DeadlineError
		if resp != nil || !errors.As(err, &re) || re.Reason != transport.StopDeadline || !errors.As(err, &de) {
			t.Fatalf("resp %v, err %v: want a deadline stop", resp, err)
		}
		if !errors.Is(err, policyErr) || !errors.Is(err, transport.ErrRateLimited) {
			t.Errorf("err %v: want CheckRetry's error kept beside the cooldown's ErrRateLimited", err)
		}
		if re.Status != 503 || next.Calls() != 1 {
			t.Errorf("Status %d after %d attempts, want 503 after 1", re.Status, next.Calls())
		}
		if err := next.Unclosed(); err != nil {
			t.Error(err)
		}
	})
}
