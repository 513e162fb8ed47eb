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

// pinAtPolicy drives rt's host to the adaptive ceiling a RateLimit-Policy
// of 10 requests/s sets (a 429 with the policy, then a full recovery), and
// checks that back-to-back sends are spaced 100 ms.
func pinAtPolicy(t *testing.T, rt http.RoundTripper, next *resSwitch, tm *resTimed) {
	t.Helper()
	for range 100 { // 100/s, far above the quota
		resSend(t, t.Context(), rt, resURL)
		time.Sleep(10 * time.Millisecond)
	}
	next.set(transporttest.Respond(429, "", "Retry-After", "1", "RateLimit-Policy", `"sec";q=10;w=1`))
	resSend(t, t.Context(), rt, resURL)
	next.set(transporttest.Respond(200, "", "RateLimit-Policy", `"sec";q=10;w=1`))
	for range 8 { // recovery, the policy advertised all along
		time.Sleep(time.Second)
		resSend(t, t.Context(), rt, resURL)
	}
	if d := backToBackGap(t, rt, tm); d != 100*time.Millisecond {
		t.Fatalf("gap %v at the advertised quota, want 100ms", d)
	}
}

// backToBackGap sends 3 requests back to back and returns the gap between
// the last two.
func backToBackGap(t *testing.T, rt http.RoundTripper, tm *resTimed) time.Duration {
	t.Helper()
	n0 := len(tm.arrivals())
	for range 3 {
		resSend(t, t.Context(), rt, resURL)
	}
	at := tm.arrivals()[n0:]
	return at[2].Sub(at[1])
}

// A host held at the quota a RateLimit-Policy advertised follows the
// latest policy the server advertises: a higher one relaxes the rate.
func TestThrottlePolicyCeilingFollowsLatestPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &resSwitch{step: transporttest.Respond(200, "")}
		tm := &resTimed{next: next}
		rt := newThrottle(t, tm, transport.ThrottleConfig{MaxWait: time.Minute})
		pinAtPolicy(t, rt, next, tm)
		next.set(transporttest.Respond(200, "", "RateLimit-Policy", `"sec";q=40;w=1`))
		resSend(t, t.Context(), rt, resURL) // the new policy seen
		time.Sleep(time.Second)
		if d := backToBackGap(t, rt, tm); d != 25*time.Millisecond {
			t.Errorf("gap %v after the server advertised 40/s, want 25ms", d)
		}
		next.set(transporttest.Respond(200, "", "RateLimit-Policy", `"sec";q=5;w=1`))
		resSend(t, t.Context(), rt, resURL)
		time.Sleep(time.Second)
		if d := backToBackGap(t, rt, tm); d != 200*time.Millisecond {
			t.Errorf("gap %v after the server advertised 5/s, want 200ms", d)
		}
	})
}

// A policy ceiling the server no longer advertises lapses: once no
// response has carried it for the expiry window (the longer of the
// policy's window and a full recovery, 10 s here), the limit is lifted.
func TestThrottlePolicyCeilingExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &resSwitch{step: transporttest.Respond(200, "")}
		tm := &resTimed{next: next}
		rt := newThrottle(t, tm, transport.ThrottleConfig{MaxWait: time.Minute})
		pinAtPolicy(t, rt, next, tm)
		next.set(transporttest.Respond(200, "")) // the server stops advertising
		time.Sleep(5 * time.Second)
		if d := backToBackGap(t, rt, tm); d != 100*time.Millisecond {
			t.Errorf("gap %v 5 s after the last policy, want 100ms (not expired yet)", d)
		}
		time.Sleep(6 * time.Second)
		resSend(t, t.Context(), rt, resURL)
		t0 := time.Now()
		for range 20 {
			resSend(t, t.Context(), rt, resURL)
		}
		if time.Since(t0) != 0 {
			t.Errorf("policy ceiling not lifted after it expired: 20 sends took %v", time.Since(t0))
		}
	})
}

// A later throttle episode without a RateLimit-Policy, once the policy
// expired, recovers until the limit is lifted: the episode is not held at
// a ceiling guessed from the send rate as if the server had advertised it.
func TestThrottleStalePolicyDoesNotPinLaterEpisode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &resSwitch{step: transporttest.Respond(200, "")}
		tm := &resTimed{next: next}
		rt := newThrottle(t, tm, transport.ThrottleConfig{MaxWait: time.Minute})
		pinAtPolicy(t, rt, next, tm)
		next.set(transporttest.Respond(200, ""))
		time.Sleep(time.Minute)
		for range 40 { // 20/s
			resSend(t, t.Context(), rt, resURL)
			time.Sleep(50 * time.Millisecond)
		}
		next.set(transporttest.Respond(429, "", "Retry-After", "1"))
		resSend(t, t.Context(), rt, resURL)
		next.set(transporttest.Respond(200, ""))
		time.Sleep(time.Minute)
		for range 12 {
			resSend(t, t.Context(), rt, resURL)
			time.Sleep(time.Second)
		}
		t0 := time.Now()
		for range 20 {
			resSend(t, t.Context(), rt, resURL)
		}
		if time.Since(t0) != 0 {
			t.Errorf("limit not lifted: 20 sends took %v", time.Since(t0))
		}
	})
}
