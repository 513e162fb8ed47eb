package transport_test

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// The slot wait and the token wait of one request add up to at most
// MaxWait: a request that waited 1 s for a slot and would wait 1 s more
// for a token is refused when MaxWait is 1.5 s, though each wait alone
// fits.
func TestThrottleSlotAndTokenWaitsShareMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(200, "body"))
		rt := newThrottle(t, next, transport.ThrottleConfig{
			Limit:   transport.HostLimit{Rate: 0.5, Burst: 1, MaxConcurrent: 1},
			MaxWait: 1500 * time.Millisecond,
		})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
		resp, err := rt.RoundTrip(req) // the slot and the token
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var errB error
		wg.Go(func() { _, errB = resSend(t, t.Context(), rt, resURL) })
		time.Sleep(time.Second) // B waits 1 s for the slot...
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		wg.Wait() // ...then would wait 1 s for the token (due at 2 s)
		var rl *transport.RateLimitError
		if !errors.As(errB, &rl) {
			t.Fatalf("err %v, want *RateLimitError: 1 s slot + 1 s token exceeds MaxWait 1.5 s", errB)
		}
		if rl.Reason != transport.ThrottleRate || rl.Wait != 2*time.Second {
			t.Errorf("Reason %q Wait %v, want %q 2s (the total)", rl.Reason, rl.Wait, transport.ThrottleRate)
		}
		if n := next.Calls(); n != 1 {
			t.Errorf("%d calls sent, want 1", n)
		}
	})
}

// The token wait counts against the quota's share of MaxWait.
func TestThrottleTokenAndQuotaWaitsShareMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		q := &scriptQuota{script: []quotaAnswer{{}, {wait: time.Second}, {}}}
		rt := newThrottle(t, next, transport.ThrottleConfig{
			Limit:   transport.HostLimit{Rate: 1, Burst: 1},
			MaxWait: 1500 * time.Millisecond,
			Quota:   q,
		})
		if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
			t.Fatal(err)
		}
		_, err := resSend(t, t.Context(), rt, resURL) // 1 s for a token, then 1 s for the quota
		var rl *transport.RateLimitError
		if !errors.As(err, &rl) {
			t.Fatalf("err %v, want *RateLimitError: 1 s token + 1 s quota exceeds MaxWait 1.5 s", err)
		}
		if rl.Reason != transport.ThrottleQuota || rl.Wait != 2*time.Second {
			t.Errorf("Reason %q Wait %v, want %q 2s (the total)", rl.Reason, rl.Wait, transport.ThrottleQuota)
		}
		if n := next.Calls(); n != 1 {
			t.Errorf("%d calls sent, want 1", n)
		}
	})
}
