package transport

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fixedBreakerStore holds one open end, set by the test (another
// process's published opening), and records what this process publishes.
type fixedBreakerStore struct {
	mu    sync.Mutex
	until time.Time
	set   []time.Time
}

func (s *fixedBreakerStore) OpenUntil(string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.until
}

func (s *fixedBreakerStore) SetOpenUntil(_ string, until time.Time) {
	s.mu.Lock()
	s.set = append(s.set, until)
	s.mu.Unlock()
}

// A process whose breaker only its own failures opened (a broken
// resolver) publishes nothing, so the store may hold another process's
// earlier end. A refusal then says when this process sends again: at
// its own end, not at the store's earlier one (a caller sleeping until
// Until would be refused again, for up to OpenTimeout).
func TestBreakerLocalOpeningRefusalUntilOwnEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &fixedBreakerStore{}
		dns := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "api.example.com", IsNotFound: true}}
		sent := 0
		rt, err := NewBreaker(stepRT(func(*http.Request) (*http.Response, error) {
			sent++
			return nil, dns
		}), BreakerConfig{ConsecutiveFailures: 3, MinRequests: 100, OpenTimeout: 10 * time.Second, Store: store})
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
		for range 3 {
			call()
		}
		own := time.Now().Add(10 * time.Second)
		if err := call(); !errors.Is(err, ErrCircuitOpen) || sent != 3 {
			t.Fatalf("breaker not open after 3 DNS failures: %v (%d sent)", err, sent)
		}
		if len(store.set) != 0 {
			t.Fatalf("a local opening was published: %v", store.set)
		}

		// Another process's opening, published with an end before ours.
		time.Sleep(time.Second)
		store.mu.Lock()
		store.until = time.Now().Add(4 * time.Second)
		store.mu.Unlock()

		var coe *CircuitOpenError
		if err := call(); !errors.As(err, &coe) {
			t.Fatalf("err = %v, want a *CircuitOpenError", err)
		}
		if !coe.Until.Equal(own) {
			t.Errorf("refused until %v, want this process's own end %v (the store's is %v)", coe.Until, own, store.until)
		}
		// Once Until has passed, the probe is sent.
		time.Sleep(time.Until(coe.Until) + time.Millisecond)
		call()
		if sent != 4 {
			t.Errorf("%d sent once Until had passed, want the probe (4): Until was early", sent)
		}
	})
}
