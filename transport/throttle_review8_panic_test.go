package transport_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// panicky panics on its first request and answers 200 afterwards.
type panicky struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (p *panicky) RoundTrip(req *http.Request) (*http.Response, error) {
	if p.n.Add(1) == 1 {
		panic("next transport bug")
	}
	return p.next.RoundTrip(req)
}

// A panic in the next transport (recovered further up, as net/http's
// server does per request) gives the concurrency slot back: a slot kept
// would be lost for the life of the process, and MaxConcurrent such
// panics would block the host for good.
func TestThrottlePanicInNextReleasesSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &panicky{next: transporttest.NewResponder(transporttest.Respond(200, "ok"))}
		rt := newThrottle(t, next, transport.ThrottleConfig{
			Limit:   transport.HostLimit{MaxConcurrent: 1},
			MaxWait: time.Second,
		})
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			_, _ = resSend(t, t.Context(), rt, resURL)
		}()
		if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
			t.Fatalf("after a panic: %v (the slot was not given back)", err)
		}
	})
}

// A next transport that breaks the RoundTripper contract with neither a
// response nor an error does not crash the throttle, which returns an
// error for it (as net/http's Client does), and leaves no slot taken.
func TestThrottleNilResponseNilError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		next := transporttest.RoundTripperFunc(func(*http.Request) (*http.Response, error) {
			calls.Add(1)
			return nil, nil
		})
		for _, cfg := range []transport.ThrottleConfig{
			{Limit: transport.HostLimit{MaxConcurrent: 1}, MaxWait: time.Second},
			{Limit: transport.HostLimit{MaxConcurrent: 1}, MaxWait: time.Second, DisableAdaptive: true},
		} {
			rt := newThrottle(t, next, cfg)
			for range 2 {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
				var (
					resp     *http.Response
					err      error
					panicked any
				)
				func() {
					defer func() { panicked = recover() }()
					resp, err = rt.RoundTrip(req)
				}()
				if panicked != nil {
					t.Fatalf("throttle panicked: %v", panicked)
				}
				if resp != nil || err == nil {
					t.Fatalf("got %v, %v; want no response and an error", resp, err)
				}
			}
		}
		if n := calls.Load(); n != 4 {
			t.Errorf("%d requests reached next, want 4 (no slot kept)", n)
		}
	})
}
