package faults

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/securecall/securecall/transport"
)

// quotaServer enforces a quota of q requests per second (burst b) the way
// a rate-limited API does: over the quota it answers 429 with Retry-After
// and RateLimit r=0; every answer carries RateLimit and RateLimit-Policy.
type quotaServer struct {
	lim *rate.Limiter
	q   int

	mu       sync.Mutex
	arrivals []time.Time
	accepted []bool
}

func (s *quotaServer) serve(w http.ResponseWriter, _ *http.Request) {
	now := time.Now()
	ok := s.lim.AllowN(now, 1)
	s.mu.Lock()
	s.arrivals = append(s.arrivals, now)
	s.accepted = append(s.accepted, ok)
	s.mu.Unlock()
	w.Header().Set("RateLimit-Policy", fmt.Sprintf(`"default";q=%d;w=1`, s.q))
	if !ok {
		w.Header().Set("Retry-After", "1")
		w.Header().Set("RateLimit", `"default";r=0;t=1`)
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, "quota exceeded")
		return
	}
	w.Header().Set("RateLimit", fmt.Sprintf(`"default";r=%d;t=1`, int(math.Max(0, s.lim.TokensAt(now)))))
	io.WriteString(w, `{"orders":[]}`)
}

// window returns the requests that arrived in [from, to) and how many of
// them were accepted.
func (s *quotaServer) window(from, to time.Time) (sent, accepted int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, a := range s.arrivals {
		if !a.Before(from) && a.Before(to) {
			sent++
			if s.accepted[i] {
				accepted++
			}
		}
	}
	return sent, accepted
}

// TestRateLimitConvergence: eight workers call as fast as they can an API
// whose quota is 20 requests/s. The client must converge below the quota
// (few 429s once adapted, the quota still used), and calls must not wait
// past their deadline: a wait that does not fit fails at once with a typed
// error (a stalled machine may still push a rare call past it).
func TestRateLimitConvergence(t *testing.T) {
	const quota = 20
	qs := &quotaServer{lim: rate.NewLimiter(quota, 5), q: quota}
	up := newUpstream(t)
	up.setHandler(qs.serve)
	url := up.srv.URL + "/orders"

	cfg := transport.StandardPreset()
	cfg.TotalTimeout = 0 // each call brings its own deadline
	rt, err := transport.NewResilience(newCountingTransport(t), cfg)
	if err != nil {
		t.Fatal(err)
	}

	const (
		workers  = 8
		run      = 8 * time.Second
		deadline = 500 * time.Millisecond // shorter than the Retry-After: cooldowns cannot always be waited out
	)
	start := time.Now()
	var mu sync.Mutex
	var ok, gaveUp, failedFast, overran, other int
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Since(start) < run {
				callStart := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				r := do(ctx, rt, http.MethodGet, url, "")
				ctxErr := ctx.Err()
				cancel()
				var de *transport.DeadlineError
				var re *transport.RetryError
				mu.Lock()
				switch {
				case r.err == nil && r.status == 200:
					ok++
				case r.err == nil && r.status == http.StatusTooManyRequests:
					gaveUp++ // the last 429, returned intact when retries ran out
				case errors.As(r.err, &de):
					failedFast++ // refused at once: the wait did not fit
				case errors.As(r.err, &re) && re.Reason == transport.StopCanceled,
					ctxErr != nil && r.err != nil:
					overran++ // the deadline passed while the call waited
					t.Logf("overran: %v (status %d) after %v", r.err, r.status, time.Since(callStart))
				default:
					other++
					t.Logf("call ended: %v", r)
				}
				mu.Unlock()
				if r.err != nil || r.status != 200 {
					time.Sleep(10 * time.Millisecond) // a caller backs off a little on failure
				}
			}
		})
	}
	wg.Wait()

	first, firstOK := qs.window(start, start.Add(3*time.Second))
	late, lateOK := qs.window(start.Add(run-4*time.Second), start.Add(run))
	lateRate, lateOKRate := float64(late)/4, float64(lateOK)/4
	t.Logf("calls: %d ok, %d returned the last 429, %d failed fast with a DeadlineError, %d overran their deadline, %d other", ok, gaveUp, failedFast, overran, other)
	t.Logf("first 3s: %d sent, %d accepted; last 4s: %.1f sent/s, %.1f accepted/s (quota %d/s)", first, firstOK, lateRate, lateOKRate, quota)

	// A wait is started only when it leaves MinAttemptTime (50 ms) for the
	// send, so a library that started waits that do not fit would overrun
	// on a large share of the calls whose cooldown is longer than what is
	// left. A call can still overrun when the machine stalls the waiting
	// goroutine or the local send for more than that reserve (two shared
	// cores under -race: 1 call of ~1,000 in 1 run of 26): a handful is
	// allowed, and each one is logged above with its error and duration.
	if total := ok + gaveUp + failedFast + overran + other; overran*200 > total {
		t.Errorf("%d of %d calls waited past their deadline (more than 0.5 %%: waits that did not fit were started)", overran, total)
	}
	if other != 0 {
		t.Errorf("%d calls ended otherwise (not a success, a 429 or a typed deadline refusal)", other)
	}
	// Converged below the quota: what is sent stays close to what the
	// quota accepts (few 429s), and the quota is still put to use.
	if lateRate > quota*1.25 {
		t.Errorf("after adapting, %.1f requests/s sent for a quota of %d/s", lateRate, quota)
	}
	if rejected := late - lateOK; float64(rejected) > 0.15*float64(late) {
		t.Errorf("after adapting, %d of %d requests still refused with 429", rejected, late)
	}
	if lateOKRate < quota*0.5 {
		t.Errorf("after adapting, only %.1f requests/s accepted: the quota of %d/s is wasted", lateOKRate, quota)
	}
}
