package transport_test

import (
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
)

// TestThrottleEvictionFailsClosedWhenAllBusy: when every host the
// registry holds is busy (here: each one's token bucket drained), a new
// host must not push the least recently used out, which would hand that
// host a fresh, full bucket and let a caller calling many hosts exceed its
// rate. The new host's request is refused instead (ErrRateLimited, nothing
// sent) until an entry can be forgotten without losing its state.
func TestThrottleEvictionFailsClosedWhenAllBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var victimSent, otherSent atomic.Int64
		next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Host == "victim.example.test" {
				victimSent.Add(1)
			} else {
				otherSent.Add(1)
			}
			return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
		})
		rt := newThrottle(t, next, transport.ThrottleConfig{
			Limit:    transport.HostLimit{Rate: 0.1, Burst: 1},
			MaxWait:  time.Millisecond,
			MaxHosts: 2,
		})
		victim := "https://victim.example.test/hook"
		if _, err := resSend(t, t.Context(), rt, victim); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // the victim is the least recently used
		if _, err := resSend(t, t.Context(), rt, "https://b.example.test/"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		_, err := resSend(t, t.Context(), rt, "https://c.example.test/")
		var rle *transport.RateLimitError
		if !errors.As(err, &rle) || rle.Reason != transport.ThrottleHosts {
			t.Errorf("new host with every held host busy: err %v, want a *RateLimitError with Reason %q", err, transport.ThrottleHosts)
		}
		_, err = resSend(t, t.Context(), rt, victim)
		if !errors.Is(err, transport.ErrRateLimited) {
			t.Errorf("second request to the drained victim: err %v, want ErrRateLimited", err)
		}
		if n := victimSent.Load(); n != 1 {
			t.Errorf("%d requests sent to the victim within its burst of 1 at 0.1/s", n)
		}
		if n := otherSent.Load(); n != 1 {
			t.Errorf("%d requests sent to other hosts, want 1 (b)", n)
		}

		time.Sleep(20 * time.Second) // every bucket full again: entries can go
		if _, err := resSend(t, t.Context(), rt, "https://c.example.test/"); err != nil {
			t.Errorf("new host once an entry is idle: %v", err)
		}
	})
}
