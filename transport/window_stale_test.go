package transport

import (
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"
)

// An outcome recorded with a reading older than the window (a breaker
// attempt counted in the time slice it started in, after it ran longer
// than the window) belongs to a slice that has left the window: it is not
// counted, and it must not take over the bucket that slice shared with the
// current one, clearing the current slice's counts (the failures that
// should open the breaker).
func TestWindowStaleAddKeepsCurrentCounts(t *testing.T) {
	var w window
	w.init(30 * time.Second)
	start := int64(time.Hour)            // the slow attempt starts
	now := start + int64(30*time.Second) // a window later: the same bucket
	for range 5 {
		w.add(now, 1, 1) // current failures
	}
	w.add(start, 1, 1) // the slow attempt's failure, in its starting slice
	if a, b := w.totals(now); a != 5 || b != 5 {
		t.Fatalf("totals after a stale add = %d attempts, %d failures; want 5, 5", a, b)
	}
}

// A retry budget asked about a slice that has left the window takes
// nothing from the current slice's counts either.
func TestBudgetStaleRetryKeepsCurrentCounts(t *testing.T) {
	b := newBudget(BudgetConfig{Ratio: 0.5, MinRetries: -1, Window: 30 * time.Second})
	start := int64(time.Hour)
	now := start + int64(30*time.Second)
	for range 4 {
		b.call(now)
	}
	b.tryRetry(start)
	if calls, _ := b.win.totals(now); calls != 4 {
		t.Fatalf("calls counted after a stale retry = %d, want 4", calls)
	}
}

// End to end: a slow attempt that answers after the window has gone round
// once must not wipe the failures the current slice counted, or a
// breaker whose host fails fast while some calls hang would not open.
func TestBreakerSlowAttemptKeepsCurrentFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			code := http.StatusInternalServerError
			if req.URL.Path == "/slow" {
				time.Sleep(10500 * time.Millisecond)
				code = http.StatusOK
			}
			return &http.Response{StatusCode: code, Body: http.NoBody, Request: req}, nil
		})
		rt, err := NewBreaker(next, BreakerConfig{FailureRatio: 0.5, MinRequests: 4, ConsecutiveFailures: -1, Window: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		send := func(path string) error {
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test"+path, nil)
			resp, err := rt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
			return err
		}
		go send("/slow")
		time.Sleep(10100 * time.Millisecond)
		for range 3 {
			if err := send("/fail"); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(500 * time.Millisecond) // the slow attempt answers
		synctest.Wait()
		if err := send("/fail"); err != nil {
			t.Fatal(err)
		}
		// 4 failures of 4 attempts in the window: open.
		if err := send("/fail"); !errors.Is(err, ErrCircuitOpen) {
			t.Fatalf("after 4 failures of 4 attempts in the window: %v, want ErrCircuitOpen", err)
		}
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestBreakerCountsFailuresSlowerThanTheWindow: an attempt is counted in
// the slice it started in, so one that failed after more than the window
// (a long throttle wait before it, no attempt timeout, a hanging host) had
// its failure dropped: a host whose attempts all hang and then fail never
// reached the failure ratio. Its failure counts when it is known.
func TestBreakerCountsFailuresSlowerThanTheWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			code := http.StatusOK
			if req.URL.Path == "/hang" {
				time.Sleep(10500 * time.Millisecond)
				code = http.StatusInternalServerError
			}
			return &http.Response{StatusCode: code, Body: http.NoBody, Request: req}, nil
		})
		rt, err := NewBreaker(next, BreakerConfig{FailureRatio: 0.5, MinRequests: 4, ConsecutiveFailures: -1, Window: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		send := func(path string) error {
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test"+path, nil)
			resp, err := rt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
			return err
		}
		for range 4 {
			go send("/hang")
		}
		time.Sleep(11 * time.Second)
		synctest.Wait()
		// 4 failures of 4 attempts, all answered within the last second.
		if err := send("/ok"); !errors.Is(err, ErrCircuitOpen) {
			t.Fatalf("after 4 failed attempts of 4 answered in the window: %v, want ErrCircuitOpen", err)
		}
	})
}
