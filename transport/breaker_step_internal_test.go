package transport

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// stepBreakerStore records the ends published to it; it shares none.
type stepBreakerStore struct {
	mu  sync.Mutex
	set []time.Time
}

func (s *stepBreakerStore) OpenUntil(string) time.Time { return time.Time{} }
func (s *stepBreakerStore) SetOpenUntil(_ string, until time.Time) {
	s.mu.Lock()
	s.set = append(s.set, until)
	s.mu.Unlock()
}

// A breaker's open end is kept on the monotonic clock: after the wall
// clock steps back an hour, a refusal still says the breaker may close in
// OpenTimeout (not an hour and OpenTimeout: a caller sleeping until Until
// would sleep an hour), and the breaker's next opening is still published
// (it was skipped as not later than the last one published, for an hour).
func TestBreakerSurvivesWallClockStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var f steppedClock
		store := &stepBreakerStore{}
		next := stepRT(func(*http.Request) (*http.Response, error) {
			return stepResp(http.StatusServiceUnavailable), nil
		})
		rt, err := NewBreaker(next, BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: 10 * time.Second, Store: store})
		if err != nil {
			t.Fatal(err)
		}
		rt.(*breakerLayer).clk = f.clock()
		clk := rt.(*breakerLayer).clk
		call := func() error {
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/v1", nil)
			resp, err := rt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
			return err
		}
		if err := call(); err != nil { // 503: the breaker opens
			t.Fatal(err)
		}
		if len(store.set) != 1 {
			t.Fatalf("%d ends published, want 1", len(store.set))
		}
		checkLeft(t, store.set[0], clk.Now(), 10*time.Second)

		f.step.Store(int64(-time.Hour))
		var coe *CircuitOpenError
		if err := call(); !errors.As(err, &coe) {
			t.Fatalf("err = %v, want a *CircuitOpenError", err)
		}
		checkLeft(t, coe.Until, clk.Now(), 10*time.Second)

		time.Sleep(11 * time.Second) // half-open: the probe fails, it opens again
		if err := call(); err != nil {
			t.Fatal(err)
		}
		if len(store.set) != 2 {
			t.Fatalf("%d ends published, want 2: the reopening was not published", len(store.set))
		}
		checkLeft(t, store.set[1], clk.Now(), 10*time.Second)
	})
}

// framedBreakerStore answers the end last published to it the way the
// fleet stores do: kept on the monotonic clock and given back in the frame
// of a fresh reading of f, so after a wall clock step it is off the end
// the layer computed by the step. later adds another replica's extension.
type framedBreakerStore struct {
	f     *steppedClock
	mu    sync.Mutex
	end   time.Time // in the unstepped frame
	later time.Duration
}

func (s *framedBreakerStore) OpenUntil(string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.end.IsZero() {
		return time.Time{}
	}
	return s.end.Add(time.Duration(s.f.step.Load()) + s.later)
}

func (s *framedBreakerStore) SetOpenUntil(_ string, until time.Time) {
	s.mu.Lock()
	s.end = until.Add(-time.Duration(s.f.step.Load()))
	s.mu.Unlock()
}

// After a forward step of the wall clock, the layer's own open end, given
// back by a store in the frame of a fresh reading, is still its own (not
// Shared: that would tell the operator another replica tripped the
// breaker); an end another replica set later is Shared.
func TestBreakerSharedAfterWallClockStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var f steppedClock
		store := &framedBreakerStore{f: &f}
		next := stepRT(func(*http.Request) (*http.Response, error) {
			return stepResp(http.StatusServiceUnavailable), nil
		})
		rt, err := NewBreaker(next, BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: 10 * time.Second, Store: store})
		if err != nil {
			t.Fatal(err)
		}
		rt.(*breakerLayer).clk = f.clock()
		refusal := func() *CircuitOpenError {
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/v1", nil)
			resp, err := rt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
				return nil
			}
			var coe *CircuitOpenError
			if !errors.As(err, &coe) {
				t.Fatalf("err = %v, want a *CircuitOpenError", err)
			}
			return coe
		}
		if coe := refusal(); coe != nil { // 503: the breaker opens
			t.Fatalf("first call refused: %v", coe)
		}
		f.step.Store(int64(time.Minute))
		if coe := refusal(); coe == nil || coe.Shared {
			t.Fatalf("own refusal after a wall clock step: %+v, want not shared", coe)
		}
		store.mu.Lock()
		store.later = 5 * time.Second
		store.mu.Unlock()
		if coe := refusal(); coe == nil || !coe.Shared {
			t.Fatalf("refusal by another replica's later end: %+v, want shared", coe)
		}
	})
}
