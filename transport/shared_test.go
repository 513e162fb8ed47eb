package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// memBreakerStore is an in-memory transport.BreakerStore: what a fleet
// store looks like to the layers, without Redis. Reads are lock-free and
// allocation-free (a copy-on-write map behind an atomic pointer).
type memBreakerStore struct {
	m    atomic.Pointer[map[string]int64]
	mu   sync.Mutex
	sets atomic.Int64
}

func newMemBreakerStore() *memBreakerStore {
	s := &memBreakerStore{}
	s.m.Store(&map[string]int64{})
	return s
}

func (s *memBreakerStore) OpenUntil(host string) time.Time {
	if u, ok := (*s.m.Load())[host]; ok {
		return time.Unix(0, u)
	}
	return time.Time{}
}

func (s *memBreakerStore) SetOpenUntil(host string, until time.Time) {
	s.sets.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.m.Load()
	if old[host] >= until.UnixNano() {
		return
	}
	m := make(map[string]int64, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[host] = until.UnixNano()
	s.m.Store(&m)
}

// Two breaker layers on one store act as two replicas: replica A's breaker
// opens, replica B fails fast without sending until A's open end, then
// sends again.
func TestBreakerStoreSharesOpenState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newMemBreakerStore()
		nextA := &resSwitch{step: transporttest.Respond(503, "")}
		nextB := &resSwitch{step: transporttest.Respond(200, "")}
		cfg := transport.BreakerConfig{ConsecutiveFailures: 2, OpenTimeout: 10 * time.Second, Store: store}
		a, b := newBreaker(t, nextA, cfg), newBreaker(t, nextB, cfg)

		// B's breaker is closed and the fleet has nothing: B sends.
		if code, err := resSend(t, t.Context(), b, resURL); err != nil || code != 200 {
			t.Fatalf("B before: %d %v", code, err)
		}
		if store.sets.Load() != 0 {
			t.Fatalf("%d publications before any opening", store.sets.Load())
		}
		resSend(t, t.Context(), a, resURL)
		resSend(t, t.Context(), a, resURL)
		opened := time.Now()
		if got := store.OpenUntil("api.example.test"); !got.Equal(opened.Add(10 * time.Second)) {
			t.Fatalf("store has %v, want A's open end %v", got, opened.Add(10*time.Second))
		}
		// A's own refusal is local, not shared.
		_, err := resSend(t, t.Context(), a, resURL)
		var ce *transport.CircuitOpenError
		if !errors.As(err, &ce) || ce.Shared || ce.State != transport.BreakerOpen {
			t.Fatalf("A: %v (%+v)", err, ce)
		}

		time.Sleep(3 * time.Second)
		for range 5 {
			body := transporttest.NewTrackedBody([]byte("x"))
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, resURL, body)
			resp, err := b.RoundTrip(req)
			if resp != nil {
				t.Fatal("response from a refused request")
			}
			ce = nil
			if !errors.As(err, &ce) || !errors.Is(err, transport.ErrCircuitOpen) {
				t.Fatalf("B while A is open: %v", err)
			}
			if !ce.Shared || ce.State != transport.BreakerOpen || ce.Host != "api.example.test" || !ce.Until.Equal(opened.Add(10*time.Second)) {
				t.Errorf("B's refusal %+v", ce)
			}
			if !body.Closed() {
				t.Error("refused request's body not closed")
			}
		}
		if nextB.count() != 1 {
			t.Fatalf("B sent %d requests while A's breaker was open, want only the one before", nextB.count())
		}
		if nextA.count() != 2 {
			t.Fatalf("A sent %d", nextA.count())
		}

		// After A's open end B sends again, its own breaker untouched.
		time.Sleep(7 * time.Second)
		for range 3 {
			if code, err := resSend(t, t.Context(), b, resURL); err != nil || code != 200 {
				t.Fatalf("B after: %d %v", code, err)
			}
		}
		if nextB.count() != 4 {
			t.Errorf("B sent %d, want 4", nextB.count())
		}
		if store.sets.Load() != 1 {
			t.Errorf("%d publications for one opening", store.sets.Load())
		}
	})
}

// Many concurrent failures open the breaker once: it is published once.
// A failed probe opens it again: published again, with the later end.
func TestBreakerStorePublishesEachOpeningOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newMemBreakerStore()
		release := make(chan struct{})
		next := &resSwitch{step: transporttest.Respond(503, ""), hang: release}
		rt := newBreaker(t, next, transport.BreakerConfig{ConsecutiveFailures: 3, OpenTimeout: 5 * time.Second, Store: store})
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() { resSend(t, t.Context(), rt, resURL) })
		}
		synctest.Wait()
		next.mu.Lock()
		next.hang = nil
		next.mu.Unlock()
		close(release)
		wg.Wait()
		if n := store.sets.Load(); n != 1 {
			t.Fatalf("%d publications for one opening", n)
		}
		first := store.OpenUntil("api.example.test")
		if !first.Equal(time.Now().Add(5 * time.Second)) {
			t.Fatalf("published %v", first)
		}
		time.Sleep(5*time.Second + time.Millisecond)
		resSend(t, t.Context(), rt, resURL) // the probe fails
		if n := store.sets.Load(); n != 2 {
			t.Fatalf("%d publications after the probe failed, want 2", n)
		}
		if got := store.OpenUntil("api.example.test"); !got.Equal(time.Now().Add(5 * time.Second)) {
			t.Fatalf("second opening published as %v", got)
		}
		if next.count() != 9 {
			t.Errorf("%d sends", next.count())
		}
	})
}

// A probe timeout opens the breaker from the refused request's path: that
// opening is published too.
func TestBreakerStorePublishesProbeTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newMemBreakerStore()
		next := &resSwitch{step: transporttest.Respond(503, "")}
		rt := newBreaker(t, next, transport.BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: 5 * time.Second, ProbeTimeout: 2 * time.Second, Store: store})
		resSend(t, t.Context(), rt, resURL)
		time.Sleep(5*time.Second + time.Millisecond)
		hang := make(chan struct{})
		next.mu.Lock()
		next.hang = hang
		next.mu.Unlock()
		stuck := make(chan struct{})
		go func() {
			defer close(stuck)
			resSend(t, t.Context(), rt, resURL)
		}()
		synctest.Wait()
		time.Sleep(2 * time.Second)
		if _, err := resSend(t, t.Context(), rt, resURL); !errors.Is(err, transport.ErrCircuitOpen) {
			t.Fatalf("after the probe timeout: %v", err)
		}
		if n := store.sets.Load(); n != 2 {
			t.Errorf("%d publications, want 2 (first opening, probe timeout)", n)
		}
		if got := store.OpenUntil("api.example.test"); !got.Equal(time.Now().Add(5 * time.Second)) {
			t.Errorf("store has %v", got)
		}
		close(hang)
		<-stuck
	})
}

// A fleet open end later than this process's own keeps this process's
// breaker from probing before it: the later end wins, reported as shared.
func TestBreakerStoreLaterFleetEndDelaysProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newMemBreakerStore()
		next := &resSwitch{step: transporttest.Respond(503, "")}
		rt := newBreaker(t, next, transport.BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: 5 * time.Second, Store: store})
		resSend(t, t.Context(), rt, resURL)
		fleetEnd := time.Now().Add(time.Minute)
		store.SetOpenUntil("api.example.test", fleetEnd) // another replica
		time.Sleep(6 * time.Second)
		_, err := resSend(t, t.Context(), rt, resURL)
		var ce *transport.CircuitOpenError
		if !errors.As(err, &ce) || !ce.Shared || !ce.Until.Equal(fleetEnd) {
			t.Fatalf("after own open end, before the fleet's: %v", err)
		}
		if next.count() != 1 {
			t.Fatalf("probe sent before the fleet's open end: %d sends", next.count())
		}
		time.Sleep(time.Minute)
		next.set(transporttest.Respond(200, ""))
		if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
			t.Fatalf("probe after the fleet's end: %v", err)
		}
		if next.count() != 2 {
			t.Errorf("%d sends", next.count())
		}
	})
}

func TestBreakerStoreRejectedEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newMemBreakerStore()
		store.SetOpenUntil("api.example.test", time.Now().Add(4*time.Second))
		next := transporttest.NewResponder()
		rt := newBreaker(t, next, transport.BreakerConfig{Store: store})
		events := resSpanEvents(t, func(ctx context.Context) {
			if _, err := resSend(t, ctx, rt, resURL); !errors.Is(err, transport.ErrCircuitOpen) {
				t.Errorf("err %v", err)
			}
		})
		if len(events) != 1 || events[0].Name != transport.EventBreakerRejected {
			t.Fatalf("events %v", events)
		}
		e := events[0]
		if !resEventAttr(e, transport.BreakerSharedKey).AsBool() || resEventAttr(e, transport.BreakerStateKey).AsString() != "open" ||
			resEventAttr(e, transport.BreakerRetryInKey).AsFloat64() != 4 {
			t.Errorf("attributes %v", e.Attributes)
		}
		if next.Calls() != 0 {
			t.Errorf("%d sends", next.Calls())
		}
		var ce *transport.CircuitOpenError
		_, err := resSend(t, t.Context(), rt, resURL)
		if !errors.As(err, &ce) || err.Error() != "transport: circuit open (shared) for api.example.test until "+ce.Until.UTC().Format(time.RFC3339Nano) {
			t.Errorf("message %q", err)
		}
	})
}

func TestBreakerStoreConformance(t *testing.T) {
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		store := newMemBreakerStore()
		store.SetOpenUntil("other.example.test", time.Now().Add(time.Hour))
		return newBreaker(t, next, transport.BreakerConfig{Store: store})
	})
}

// With a store, the closed-state path still costs no allocation and no
// lock.
func TestBreakerStoreClosedPathNoAllocs(t *testing.T) {
	resp := &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody}
	next := transporttest.RoundTripperFunc(func(*http.Request) (*http.Response, error) { return resp, nil })
	store := newMemBreakerStore()
	store.SetOpenUntil("other.example.test", time.Now().Add(time.Hour))
	rt := newBreaker(t, next, transport.BreakerConfig{Store: store})
	req, _ := http.NewRequest(http.MethodGet, resURL, nil)
	rt.RoundTrip(req)
	if n := testing.AllocsPerRun(200, func() { rt.RoundTrip(req) }); n != 0 {
		t.Errorf("%v allocations per closed-state request with a store", n)
	}
}

// scriptQuota answers TakeQuota from a script, then with its last entry.
type scriptQuota struct {
	mu     sync.Mutex
	script []quotaAnswer
	calls  int
}

type quotaAnswer struct {
	wait time.Duration
	err  error
}

func (q *scriptQuota) TakeQuota(ctx context.Context, host string) (time.Duration, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls++
	a := q.script[0]
	if len(q.script) > 1 {
		q.script = q.script[1:]
	}
	return a.wait, a.err
}

func (q *scriptQuota) count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.calls
}

// fleetQuota is a quota of n requests shared by every layer using it
// (replicas): once spent, it asks callers to wait an hour.
type fleetQuota struct {
	left atomic.Int64
}

func (q *fleetQuota) TakeQuota(ctx context.Context, host string) (time.Duration, error) {
	if q.left.Add(-1) >= 0 {
		return 0, nil
	}
	q.left.Add(1)
	return time.Hour, nil
}

func TestThrottleQuotaWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := &scriptQuota{script: []quotaAnswer{{wait: 2 * time.Second}, {wait: time.Second}, {}}}
		tm := &resTimed{next: transporttest.NewResponder()}
		rt := newThrottle(t, tm, transport.ThrottleConfig{Quota: q})
		start := time.Now()
		events := resSpanEvents(t, func(ctx context.Context) {
			if _, err := resSend(t, ctx, rt, resURL); err != nil {
				t.Fatal(err)
			}
		})
		if at := tm.arrivals(); len(at) != 1 || at[0].Sub(start) != 3*time.Second {
			t.Fatalf("arrivals %v, want one after 3s", at)
		}
		if q.count() != 3 {
			t.Errorf("quota asked %d times", q.count())
		}
		if len(events) != 2 || events[0].Name != transport.EventThrottled ||
			resEventAttr(events[0], transport.ThrottleReasonKey).AsString() != transport.ThrottleQuota ||
			resEventAttr(events[0], transport.ThrottleWaitKey).AsFloat64() != 2 {
			t.Errorf("events %v", events)
		}
		// Granted at once: no wait.
		start = time.Now()
		resSend(t, t.Context(), rt, resURL)
		if time.Since(start) != 0 {
			t.Errorf("waited %v for a granted quota", time.Since(start))
		}
	})
}

// The waits for one request add up to at most MaxWait.
func TestThrottleQuotaMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := &scriptQuota{script: []quotaAnswer{{wait: time.Second}}}
		next := transporttest.NewResponder()
		rt := newThrottle(t, next, transport.ThrottleConfig{Quota: q, MaxWait: 3 * time.Second})
		start := time.Now()
		body := transporttest.NewTrackedBody([]byte("x"))
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, resURL, body)
		_, err := rt.RoundTrip(req)
		var rl *transport.RateLimitError
		if !errors.As(err, &rl) || !errors.Is(err, transport.ErrRateLimited) || rl.Reason != transport.ThrottleQuota ||
			rl.Wait != 4*time.Second || rl.MaxWait != 3*time.Second || rl.Host != "api.example.test" {
			t.Fatalf("err %v (%+v)", err, rl)
		}
		if time.Since(start) != 3*time.Second || q.count() != 4 {
			t.Errorf("waited %v, asked %d times", time.Since(start), q.count())
		}
		if next.Calls() != 0 || !body.Closed() {
			t.Errorf("sends %d, body closed %v", next.Calls(), body.Closed())
		}
	})
}

// A quota wait that would not end MinAttemptTime before the deadline
// fails at once.
func TestThrottleQuotaDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := &scriptQuota{script: []quotaAnswer{{wait: time.Second}, {wait: 5 * time.Second}}}
		next := transporttest.NewResponder()
		rt := newThrottle(t, next, transport.ThrottleConfig{Quota: q, MaxWait: time.Minute, MinAttemptTime: 500 * time.Millisecond})
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		start := time.Now()
		_, err := resSend(t, ctx, rt, resURL)
		var de *transport.DeadlineError
		if !errors.As(err, &de) || !errors.Is(err, transport.ErrRateLimited) || de.Reason != transport.SourceThrottle || de.Wait != 5*time.Second {
			t.Fatalf("err %v", err)
		}
		if time.Since(start) != time.Second || next.Calls() != 0 {
			t.Errorf("failed after %v (want the first 1s wait only), sends %d", time.Since(start), next.Calls())
		}
		// The reserve counts: 2s left, a 1.6s wait would leave 0.4s < 0.5s.
		q2 := &scriptQuota{script: []quotaAnswer{{wait: 1600 * time.Millisecond}, {}}}
		rt = newThrottle(t, next, transport.ThrottleConfig{Quota: q2, MaxWait: time.Minute, MinAttemptTime: 500 * time.Millisecond})
		ctx2, cancel2 := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel2()
		if _, err := resSend(t, ctx2, rt, resURL); !errors.As(err, &de) {
			t.Fatalf("within the reserve: %v", err)
		}
		// The caller's cancellation ends a wait.
		q3 := &scriptQuota{script: []quotaAnswer{{wait: time.Hour}}}
		rt = newThrottle(t, next, transport.ThrottleConfig{Quota: q3, MaxWait: 2 * time.Hour})
		ctx3, cancel3 := context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel3)
		if _, err := resSend(t, ctx3, rt, resURL); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled wait: %v", err)
		}
		if next.Calls() != 0 {
			t.Errorf("%d sends", next.Calls())
		}
	})
}

// A quota error refuses the request: wrapped, matching ErrRateLimited when
// the quota's does, body closed, concurrency slot given back.
func TestThrottleQuotaError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		refusal := fmt.Errorf("fleet: lease: %w", transport.ErrRateLimited)
		other := errors.New("fleet: broken")
		q := &scriptQuota{script: []quotaAnswer{{err: refusal}, {err: other}, {}}}
		next := transporttest.NewResponder()
		rt := newThrottle(t, next, transport.ThrottleConfig{Quota: q, Limit: transport.HostLimit{MaxConcurrent: 1}, MaxWait: time.Second})
		body := transporttest.NewTrackedBody([]byte("x"))
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, resURL, body)
		_, err := rt.RoundTrip(req)
		if !errors.Is(err, transport.ErrRateLimited) || !errors.Is(err, refusal) || !body.Closed() {
			t.Fatalf("err %v, body closed %v", err, body.Closed())
		}
		if _, err := resSend(t, t.Context(), rt, resURL); !errors.Is(err, other) || errors.Is(err, transport.ErrRateLimited) {
			t.Fatalf("second: %v", err)
		}
		// The slot was given back both times: the third goes at once.
		start := time.Now()
		if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
			t.Fatalf("third: %v (slot not released?)", err)
		}
		if time.Since(start) != 0 || next.Calls() != 1 {
			t.Errorf("waited %v, sends %d", time.Since(start), next.Calls())
		}
	})
}

// Two throttles on one quota act as two replicas: together they send no
// more than the quota.
func TestThrottleQuotaSharedByReplicas(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := &fleetQuota{}
		q.left.Store(5)
		next := transporttest.NewResponder()
		a := newThrottle(t, next, transport.ThrottleConfig{Quota: q, MaxWait: time.Second})
		b := newThrottle(t, next, transport.ThrottleConfig{Quota: q, MaxWait: time.Second})
		sent, refused := 0, 0
		for i := range 20 {
			rt := a
			if i%2 == 1 {
				rt = b
			}
			_, err := resSend(t, t.Context(), rt, resURL)
			switch {
			case err == nil:
				sent++
			case errors.Is(err, transport.ErrRateLimited):
				refused++
			default:
				t.Fatal(err)
			}
		}
		if sent != 5 || refused != 15 || next.Calls() != 5 {
			t.Errorf("sent %d, refused %d, upstream %d; want 5, 15, 5", sent, refused, next.Calls())
		}
	})
}

// A quota answering with tiny waits cannot make the layer spin: each wait
// is at least a millisecond.
func TestThrottleQuotaTinyWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := &scriptQuota{script: []quotaAnswer{{wait: time.Nanosecond}}}
		rt := newThrottle(t, transporttest.NewResponder(), transport.ThrottleConfig{Quota: q, MaxWait: 100 * time.Millisecond})
		if _, err := resSend(t, t.Context(), rt, resURL); !errors.Is(err, transport.ErrRateLimited) {
			t.Fatalf("err %v", err)
		}
		if q.count() > 101 {
			t.Errorf("quota asked %d times in 100ms", q.count())
		}
	})
}

// alternateQuota asks every other request to wait a millisecond.
type alternateQuota struct{ n atomic.Int64 }

func (q *alternateQuota) TakeQuota(ctx context.Context, host string) (time.Duration, error) {
	if q.n.Add(1)%2 == 0 {
		return time.Millisecond, nil
	}
	return 0, nil
}

func TestThrottleQuotaConformance(t *testing.T) {
	for name, cfg := range map[string]transport.ThrottleConfig{
		"quota":         {Quota: &alternateQuota{}},
		"quota+limited": {Quota: &alternateQuota{}, Limit: transport.HostLimit{Rate: 1000, Burst: 10, MaxConcurrent: 4}},
	} {
		t.Run(name, func(t *testing.T) {
			transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
				return newThrottle(t, next, cfg)
			}, transporttest.ConformanceOptions{Synctest: true})
		})
	}
}
