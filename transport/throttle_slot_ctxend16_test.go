package transport_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestThrottleSlotFreedOnceCloseRacingCtxEnd: a body's slot is given back
// once whether its Close or the end of its call's context comes first, or
// both at once: after 200 bodies each closed while its context is
// canceled, the cap of 1 still lets exactly one request in.
func TestThrottleSlotFreedOnceCloseRacingCtxEnd(t *testing.T) {
	next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
	rt := newThrottle(t, next, transport.ThrottleConfig{Limit: transport.HostLimit{MaxConcurrent: 1}, DisableAdaptive: true})
	get := func(ctx context.Context) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.com/", nil)
		return rt.RoundTrip(req)
	}
	for i := range 200 {
		ctx, cancel := context.WithCancel(context.Background())
		resp, err := get(ctx)
		if err != nil {
			t.Fatalf("request %d: %v (a slot was lost)", i, err)
		}
		var wg sync.WaitGroup
		wg.Go(cancel)
		wg.Go(func() { resp.Body.Close() })
		wg.Wait()
		if i%2 == 0 {
			resp.Body.Close() // and once more, after both
		}
	}
	// One slot, not more: while a request holds it, a second one (its
	// context already canceled, so it does not wait for the slot) is not
	// sent: the transport's count tells (a request with a spare slot is
	// sent, and the responder answers it whatever its context).
	held, err := get(context.Background())
	if err != nil {
		t.Fatalf("after the races: %v (a slot was lost)", err)
	}
	defer held.Body.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // ends its wait for the slot at once
	resp, err := get(ctx)
	if err == nil {
		resp.Body.Close()
		t.Fatal("a second request got a slot: a body's slot was given back twice")
	}
	if !errors.Is(err, transport.ErrRateLimited) && !errors.Is(err, context.Canceled) {
		t.Fatalf("second request: %v", err)
	}
	if n := next.Calls(); n != 201 {
		t.Errorf("transport called %d times, want 201", n)
	}
}
