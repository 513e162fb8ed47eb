package transport

import (
	"errors"
	"math"
	"net/http"
	"sync"
	"testing"
	"time"
)

// echoBreakerStore gives back the end last published to it, as a fleet
// store gives back this replica's own write.
type echoBreakerStore struct {
	mu    sync.Mutex
	until time.Time
}

func (s *echoBreakerStore) OpenUntil(string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.until
}

func (s *echoBreakerStore) SetOpenUntil(_ string, until time.Time) {
	s.mu.Lock()
	s.until = until
	s.mu.Unlock()
}

// An OpenTimeout near the largest Duration (a breaker that stays open)
// still tells this replica's own open end, given back by the store, from
// another replica's: the refusal is not Shared.
func TestBreakerLongOpenTimeoutOwnEndNotShared(t *testing.T) {
	store := &echoBreakerStore{}
	next := stepRT(func(*http.Request) (*http.Response, error) {
		return stepResp(http.StatusServiceUnavailable), nil
	})
	rt, err := NewBreaker(next, BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: math.MaxInt64, Store: store})
	if err != nil {
		t.Fatal(err)
	}
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
	if store.OpenUntil("").IsZero() {
		t.Fatal("the opening was not published")
	}
	var coe *CircuitOpenError
	if err := call(); !errors.As(err, &coe) {
		t.Fatalf("err = %v, want a *CircuitOpenError", err)
	}
	if coe.Shared {
		t.Fatalf("own open end refused as Shared: %+v", coe)
	}
}
