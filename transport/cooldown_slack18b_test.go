package transport_test

import (
	"context"
	"net/url"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestCooldownWithinSlackWaitedOnceNotInChunks: a shared store's cooldown
// that runs past the layer's MaxRetryAfter by less than the slack (one
// set by a client with a longer cap) is waited for the cap, once, then the
// call is sent, as before de257be. Since it, the store was read again
// after the wait and the cooldown's unchanged end taken for an extension:
// the rest was waited out in cap-sized waits, with MaxRetryAfter 100 ms
// and 900 ms left nine waits (nine throttle events, the call held nine
// times its cap); with a cap of 1 ms, a thousand. Only an end moved later
// while the call waited is waited for again.
func TestCooldownWithinSlackWaitedOnceNotInChunks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := transport.NewCooldowns(0)
		next := transporttest.NewResponder()
		rt := newRetry(t, next, transport.RetryConfig{Cooldowns: store, ServerWaitJitter: -1, MaxAttempts: 1, MaxRetryAfter: 100 * time.Millisecond})
		u, _ := url.Parse(resURL)
		store.SetCooldown(transport.HostKey(u), time.Now().Add(900*time.Millisecond))
		events := resSpanEvents(t, func(ctx context.Context) {
			if _, err := resSend(t, ctx, rt, resURL); err != nil {
				t.Fatal(err)
			}
		})
		waits := 0
		for _, e := range events {
			if e.Name == transport.EventThrottled {
				waits++
			}
		}
		if waits != 1 || next.Calls() != 1 {
			t.Errorf("%d cooldown waits, %d sends; want 1 and 1", waits, next.Calls())
		}
	})
}
