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

// sameInstant counts the arrivals at the first one's instant.
func sameInstant(at []time.Time) int {
	n := 0
	for _, t := range at {
		if t.Equal(at[0]) {
			n++
		}
	}
	return n
}

// A lowered rate recovers with the intervals that passed, not with the
// requests that happened to arrive: after a minute without a signal (sixty
// recovery intervals) the adaptive limit of an unlimited host is lifted, so
// a burst goes out at once.
func TestThrottleRecoversAfterIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &resSwitch{step: transporttest.Respond(200, "")}
		tm := &resTimed{next: next}
		rt := newThrottle(t, tm, transport.ThrottleConfig{MaxWait: time.Minute})
		for range 40 { // 20/s for 2 s
			resSend(t, t.Context(), rt, resURL)
			time.Sleep(50 * time.Millisecond)
		}
		next.set(transporttest.Respond(429, ""))
		resSend(t, t.Context(), rt, resURL)
		next.set(transporttest.Respond(200, ""))

		time.Sleep(time.Minute) // idle: no request, no signal
		n0 := len(tm.arrivals())
		for range 20 {
			if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
				t.Fatal(err)
			}
		}
		if n := sameInstant(tm.arrivals()[n0:]); n != 20 {
			t.Errorf("%d of 20 sends went out at once after a minute idle, want 20 (limit lifted)", n)
		}
	})
}

// The concurrency cap is taken before the token: a request that waited
// for a slot must not be sent on a token it took long before, or the
// requests queued behind a full cap all go out together when slots free,
// beyond the bucket's burst.
func TestThrottleSlotWaitKeepsRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tm := &resTimed{next: transporttest.NewResponder(transporttest.Respond(200, "body"))}
		rt := newThrottle(t, tm, transport.ThrottleConfig{
			Limit:   transport.HostLimit{Rate: 1, Burst: 1, MaxConcurrent: 2},
			MaxWait: time.Minute,
		})
		var open []*http.Response
		for range 2 { // t=0 and t=1: both slots held
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			open = append(open, resp)
		}
		for range 2 { // two more queue behind the cap
			go func() {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
				resp, err := rt.RoundTrip(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}()
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		n0 := len(tm.arrivals())
		for _, r := range open { // both slots free at the same instant
			r.Body.Close()
		}
		synctest.Wait()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		at := tm.arrivals()[n0:]
		if len(at) != 2 {
			t.Fatalf("%d queued requests sent, want 2", len(at))
		}
		if n := sameInstant(at); n != 1 {
			t.Errorf("%d requests sent at one instant with Burst 1", n)
		}
	})
}

// A request refused for a token after it got its slot gives the slot back.
func TestThrottleTokenRefusalFreesSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		rt := newThrottle(t, next, transport.ThrottleConfig{
			Limit:   transport.HostLimit{Rate: 1, Burst: 1, MaxConcurrent: 1},
			MaxWait: 2 * time.Second,
		})
		if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
			t.Fatal(err)
		}
		for range 3 { // the next token is 1 s away: none fits 100 ms
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			_, err := resSend(t, ctx, rt, resURL)
			cancel()
			if !errors.Is(err, transport.ErrRateLimited) {
				t.Fatalf("err %v, want ErrRateLimited", err)
			}
		}
		if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
			t.Fatalf("slot not given back: %v", err)
		}
		if n := next.Calls(); n != 2 {
			t.Errorf("%d calls sent, want 2", n)
		}
	})
}

// A host whose concurrency slots are in use is not forgotten when the
// registry is full: a fresh state would give it a fresh set of slots, and
// the cap would no longer hold.
func TestThrottleEvictionKeepsBusyHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(200, "body"))
		rt := newThrottle(t, next, transport.ThrottleConfig{
			Limit:    transport.HostLimit{MaxConcurrent: 1},
			MaxWait:  time.Second,
			MaxHosts: 2,
		})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
		held, err := rt.RoundTrip(req) // a long download: its slot stays taken
		if err != nil {
			t.Fatal(err)
		}
		defer held.Body.Close()
		time.Sleep(time.Minute)
		for _, u := range []string{"https://b.example/", "https://c.example/", "https://d.example/"} {
			if _, err := resSend(t, t.Context(), rt, u); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Second)
		}
		_, err = resSend(t, t.Context(), rt, resURL)
		if !errors.Is(err, transport.ErrRateLimited) {
			t.Errorf("second request to a host capped at 1 with its slot taken: err %v, want ErrRateLimited", err)
		}
	})
}
