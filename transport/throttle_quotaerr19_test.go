package transport_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestThrottleQuotaErrorNotHostFailure: a shared quota that cannot be
// consulted (its store is down) refuses the request before anything is
// sent: that is no fault of the host, so however many calls it refuses
// the host's breaker stays closed and, once the quota answers again, the
// host's requests are sent; the error keeps the quota's cause.
func TestThrottleQuotaErrorNotHostFailure(t *testing.T) {
	boom := errors.New("quota store: connection refused")
	var down atomic.Bool
	down.Store(true)
	q := quotaFunc(func(ctx context.Context, host string) (time.Duration, error) {
		if down.Load() {
			return 0, boom
		}
		return 0, nil
	})
	next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
	var opened int
	rc := transport.StandardPreset()
	rc.Breaker.ConsecutiveFailures = 2
	rc.Breaker.OnStateChange = func(_ string, _, to transport.BreakerState) {
		if to == transport.BreakerOpen {
			opened++
		}
	}
	rc.Retry.BaseDelay, rc.Retry.MaxDelay = time.Millisecond, time.Millisecond
	rc.Throttle.Quota = q
	rt, err := transport.NewResilience(next, rc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://api.example.test/x", nil)
		resp, err := rt.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("call %d: sent with the quota down", i)
		}
		if errors.Is(err, transport.ErrCircuitOpen) {
			t.Fatalf("call %d: %v: the quota's failures opened the host's breaker", i, err)
		}
		if !errors.Is(err, boom) {
			t.Fatalf("call %d: err = %v; want it to keep the quota's error", i, err)
		}
	}
	down.Store(false)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://api.example.test/x", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("with the quota back: %v; want the request sent", err)
	}
	resp.Body.Close()
	if opened != 0 {
		t.Fatalf("breaker opened %d times", opened)
	}
	if n := len(next.Requests()); n != 1 {
		t.Fatalf("%d requests reached the host; want 1", n)
	}
}

type quotaFunc func(ctx context.Context, host string) (time.Duration, error)

func (f quotaFunc) TakeQuota(ctx context.Context, host string) (time.Duration, error) {
	return f(ctx, host)
}
