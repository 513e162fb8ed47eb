package faults

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// rtFunc adapts a function to http.RoundTripper.
type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// breakerWatch records when each attempt reached the breaker and whether
// it went past it, and when the breaker changed state, so a test can check
// that nothing arriving while the breaker was open was sent (other than
// the one probe that ends an open period).
type breakerWatch struct {
	mu      sync.Mutex
	arrived map[*http.Request]time.Time
	sent    []time.Time // arrival times of the attempts that were sent
	changes []stateChange
}

type stateChange struct {
	at       time.Time
	from, to transport.BreakerState
}

func newBreakerWatch() *breakerWatch {
	return &breakerWatch{arrived: map[*http.Request]time.Time{}}
}

func (w *breakerWatch) onStateChange(_ string, from, to transport.BreakerState) {
	w.mu.Lock()
	w.changes = append(w.changes, stateChange{time.Now(), from, to})
	w.mu.Unlock()
}

// above is the layer just above the breaker, below is the one just below.
func (w *breakerWatch) above(next http.RoundTripper) http.RoundTripper {
	return rtFunc(func(r *http.Request) (*http.Response, error) {
		w.mu.Lock()
		w.arrived[r] = time.Now()
		w.mu.Unlock()
		return next.RoundTrip(r)
	})
}

func (w *breakerWatch) below(next http.RoundTripper) http.RoundTripper {
	return rtFunc(func(r *http.Request) (*http.Response, error) {
		w.mu.Lock()
		w.sent = append(w.sent, w.arrived[r])
		w.mu.Unlock()
		return next.RoundTrip(r)
	})
}

// openPeriods returns the [open, half-open) periods.
func (w *breakerWatch) openPeriods(end time.Time) [][2]time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ps [][2]time.Time
	for i, c := range w.changes {
		if c.to != transport.BreakerOpen {
			continue
		}
		stop := end
		for _, d := range w.changes[i+1:] {
			if d.to != transport.BreakerOpen {
				stop = d.at
				break
			}
		}
		ps = append(ps, [2]time.Time{c.at, stop})
	}
	return ps
}

// sentDuring counts the sent attempts that arrived at the breaker in p.
func (w *breakerWatch) sentDuring(p [2]time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, a := range w.sent {
		if !a.Before(p[0]) && a.Before(p[1]) {
			n++
		}
	}
	return n
}

// offerLoad sends one call every interval for d, each in its own goroutine
// with its own deadline, and waits for them all.
func offerLoad(rt http.RoundTripper, url string, interval, d, deadline time.Duration) []callResult {
	var mu sync.Mutex
	var results []callResult
	var wg sync.WaitGroup
	tick := time.NewTicker(interval)
	defer tick.Stop()
	stop := time.After(d)
	for {
		select {
		case <-stop:
			wg.Wait()
			return results
		case <-tick.C:
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				defer cancel()
				r := do(ctx, rt, http.MethodGet, url, "")
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			})
		}
	}
}

// TestOutage: the upstream answers 503 to everything while a steady load
// is offered. Retries stay within the budget (attempts per call <= 1.1),
// the breaker opens and then sends nothing (but one probe per open
// period), and one probe closes it when the upstream recovers.
func TestOutage(t *testing.T) {
	up := newUpstream(t)
	down := func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "maintenance")
	}
	up.setHandler(down)
	url := up.srv.URL + "/orders"

	t.Run("budget", func(t *testing.T) {
		base := newCountingTransport(t)
		before := up.hitCount()
		rt, err := transport.NewRetry(base, transport.RetryConfig{BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		results := offerLoad(rt, url, 10*time.Millisecond, 3*time.Second, 2*time.Second)
		attempts := up.hitCount() - before
		ratio := float64(attempts) / float64(len(results))
		t.Logf("budget only: %d calls, %d attempts upstream, ratio %.3f", len(results), attempts, ratio)
		if ratio > 1.1 {
			t.Errorf("attempts per call %.3f, want <= 1.1", ratio)
		}
		for _, r := range results {
			if r.err != nil || r.status != 503 {
				t.Fatalf("call ended %v, want the last 503 intact", r)
			}
		}
	})

	t.Run("breaker", func(t *testing.T) {
		base := newCountingTransport(t)
		w := newBreakerWatch()
		const openFor = time.Second
		br, err := transport.NewBreaker(w.below(base), transport.BreakerConfig{OpenTimeout: openFor, ProbeTimeout: time.Second, OnStateChange: w.onStateChange})
		if err != nil {
			t.Fatal(err)
		}
		rt, err := transport.NewRetry(w.above(br), transport.RetryConfig{BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		before := up.hitCount()
		results := offerLoad(rt, url, 10*time.Millisecond, 3*time.Second, 2*time.Second)
		attempts := up.hitCount() - before
		open := 0
		for _, r := range results {
			if errors.Is(r.err, transport.ErrCircuitOpen) {
				open++
			}
		}
		ratio := float64(attempts) / float64(len(results))
		t.Logf("with breaker: %d calls, %d attempts upstream (%.3f), %d refused by the open breaker", len(results), attempts, ratio, open)
		if ratio > 1.1 {
			t.Errorf("attempts per call %.3f, want <= 1.1", ratio)
		}
		if open == 0 {
			t.Fatal("the breaker never opened")
		}
		periods := w.openPeriods(time.Now())
		if len(periods) == 0 {
			t.Fatal("no open period recorded")
		}
		for i, p := range periods {
			if n := w.sentDuring(p); n > 1 {
				t.Errorf("open period %d (%v long): %d attempts sent, want at most the probe", i, p[1].Sub(p[0]), n)
			}
		}

		// Recovery: after the open period, one probe closes the breaker.
		up.setHandler(nil)
		time.Sleep(openFor + 100*time.Millisecond)
		hits := up.hitCount()
		if r := do(context.Background(), rt, http.MethodGet, url, ""); r.err != nil || r.status != 200 {
			t.Fatalf("probe: %v", r)
		}
		if n := up.hitCount() - hits; n != 1 {
			t.Errorf("%d attempts to recover, want 1 probe", n)
		}
		for range 10 {
			if r := do(context.Background(), rt, http.MethodGet, url, ""); r.err != nil || r.status != 200 {
				t.Fatalf("after recovery: %v", r)
			}
		}
		w.mu.Lock()
		last := w.changes[len(w.changes)-2:]
		w.mu.Unlock()
		if got := fmt.Sprint(last[0].to, last[1].to); got != "half-open closed" {
			t.Errorf("last transitions %s, want half-open then closed", got)
		}
		up.setHandler(down)
	})
}

func (u *upstream) hitCount() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, v := range u.hits {
		n += v
	}
	return n
}
