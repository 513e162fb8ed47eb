package transport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// scanCounter counts the host entries the throttle's registry examines
// (its busy and wake hooks) while it looks for one to forget.
type scanCounter struct{ n int }

func countScans(t *testing.T, rt http.RoundTripper) (*throttleLayer, *scanCounter) {
	t.Helper()
	l := rt.(*throttleLayer)
	c := &scanCounter{}
	busy := l.hosts.busy
	l.hosts.busy = func(h *throttleHost) bool { c.n++; return busy(h) }
	if wake := l.hosts.wake; wake != nil {
		l.hosts.wake = func(h *throttleHost) int64 { c.n++; return wake(h) }
	}
	return l, c
}

func hostsSend(rt http.RoundTripper, host string) (*http.Response, error) {
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://"+host+"/", nil)
	return rt.RoundTrip(req)
}

func isHostsRefusal(err error) bool {
	var rle *RateLimitError
	return errors.As(err, &rle) && rle.Reason == ThrottleHosts
}

// With the host table full of hosts whose state must be kept (here: each
// holds its one concurrency slot, a response body still open), a request
// to a new host is refused; refusing costs O(1), not a scan of the whole
// table per request: the table is scanned once, and again only once a
// host may have become idle (a slot freed), when the new host gets in.
func TestThrottleHostsRefusalDoesNotRescanTable(t *testing.T) {
	const maxHosts = 64
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("x")), Request: r}, nil
	})
	rt, err := NewThrottle(next, ThrottleConfig{Limit: HostLimit{MaxConcurrent: 1}, MaxHosts: maxHosts})
	if err != nil {
		t.Fatal(err)
	}
	_, c := countScans(t, rt)
	bodies := make([]io.Closer, 0, maxHosts)
	for i := range maxHosts {
		resp, err := hostsSend(rt, "h"+strconv.Itoa(i)+".example.test")
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, resp.Body)
	}
	c.n = 0
	const refused = 200
	for i := range refused {
		if _, err := hostsSend(rt, "new"+strconv.Itoa(i)+".example.test"); !isHostsRefusal(err) {
			t.Fatalf("new host %d with every slot held: err %v, want Reason %q", i, err, ThrottleHosts)
		}
	}
	if c.n > 2*maxHosts {
		t.Fatalf("%d refusals examined %d entries (%.1f per refusal), want at most one scan of the %d-host table (%d)",
			refused, c.n, float64(c.n)/refused, maxHosts, 2*maxHosts)
	}
	// Who is refused is unchanged: once a slot is free its host can be
	// forgotten and a new host gets in at once.
	bodies[0].Close()
	c.n = 0
	resp, err := hostsSend(rt, "late.example.test")
	if err != nil {
		t.Fatalf("new host once a host is idle: %v", err)
	}
	resp.Body.Close()
	if c.n == 0 {
		t.Fatal("the table was not scanned again after a slot was freed")
	}
	for _, b := range bodies[1:] {
		b.Close()
	}
}

// The same with hosts busy because their token buckets are drained: the
// refusal is cached until the first bucket can be full again, no longer.
// A token given back (a request refused for its wait) is an event too.
func TestThrottleHostsRefusalCachedUntilABucketRefills(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxHosts = 16
		next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
		})
		rt, err := NewThrottle(next, ThrottleConfig{Limit: HostLimit{Rate: 0.1, Burst: 1}, MaxHosts: maxHosts, MaxWait: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		_, c := countScans(t, rt)
		for i := range maxHosts {
			if _, err := hostsSend(rt, "h"+strconv.Itoa(i)+".example.test"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // h0's bucket is full first, at 10 s
		}
		c.n = 0
		for i := range 100 {
			if _, err := hostsSend(rt, "new"+strconv.Itoa(i)+".example.test"); !isHostsRefusal(err) {
				t.Fatalf("new host %d with every bucket drained: err %v", i, err)
			}
		}
		if c.n > 2*maxHosts {
			t.Fatalf("100 refusals examined %d entries, want at most one scan (%d)", c.n, 2*maxHosts)
		}
		// A token given back (h15's request refused for its wait) voids
		// the cached verdict: the table is scanned again, once.
		if _, err := hostsSend(rt, "h15.example.test"); !errors.Is(err, ErrRateLimited) || isHostsRefusal(err) {
			t.Fatalf("drained h15: err %v, want its rate limit", err)
		}
		c.n = 0
		for range 10 {
			if _, err := hostsSend(rt, "new.example.test"); !isHostsRefusal(err) {
				t.Fatalf("new host after h15's refusal: err %v", err)
			}
		}
		if c.n == 0 || c.n > 2*maxHosts {
			t.Fatalf("after a token was given back, 10 refusals examined %d entries, want one scan (%d)", c.n, 2*maxHosts)
		}
		time.Sleep(8 * time.Second) // 9.6 s after h0's token: still drained
		if _, err := hostsSend(rt, "new.example.test"); !isHostsRefusal(err) {
			t.Fatalf("new host before any bucket refilled: err %v", err)
		}
		time.Sleep(500 * time.Millisecond) // h0's bucket is full
		if _, err := hostsSend(rt, "new.example.test"); err != nil {
			t.Fatalf("new host once h0's bucket is full: %v", err)
		}
	})
}
