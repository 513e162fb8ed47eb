package transport

import (
	"errors"
	"net"
	"net/http"
	"testing"
	"testing/synctest"
	"time"
)

// With a Store, a failure that is evidence about this process
// (replicaFault: here a DNS failure) counts in its own breaker but opens
// nothing in the fleet: an opening is published only when the host's
// failures alone meet the thresholds, or when a failed probe was the
// host's.
func TestBreakerReplicaFaultPublishesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &stepBreakerStore{}
		dns := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "server misbehaving", Name: "api.example.com", IsTemporary: true}}
		ok := errors.New("200")
		var next []error // nil: a 503
		rt, err := NewBreaker(stepRT(func(*http.Request) (*http.Response, error) {
			e := next[0]
			next = next[1:]
			switch e {
			case nil:
				return stepResp(http.StatusServiceUnavailable), nil
			case ok:
				return stepResp(http.StatusOK), nil
			}
			return nil, e
		}), BreakerConfig{ConsecutiveFailures: 3, MinRequests: 100, OpenTimeout: 10 * time.Second, Store: store})
		if err != nil {
			t.Fatal(err)
		}
		call := func(e error) error {
			next = append(next, e)
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/v1", nil)
			resp, err := rt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
			return err
		}
		published := func(want int) {
			t.Helper()
			store.mu.Lock()
			defer store.mu.Unlock()
			if len(store.set) != want {
				t.Fatalf("%d openings published, want %d", len(store.set), want)
			}
		}
		isOpen := func() {
			t.Helper()
			if err := call(nil); !errors.Is(err, ErrCircuitOpen) {
				t.Fatalf("breaker not open: %v", err)
			}
			next = next[:0]
		}

		// 503, DNS, 503: three failures in a row open this process's
		// breaker; two of them were the host's, under the threshold.
		call(nil)
		call(dns)
		call(nil)
		isOpen()
		published(0)

		// The probe fails with the host's 503: the reopening is shared.
		time.Sleep(11 * time.Second)
		call(nil)
		isOpen()
		published(1)

		// The next probe fails with a DNS failure: not shared.
		time.Sleep(11 * time.Second)
		call(dns)
		isOpen()
		published(1)

		// The next probe succeeds: closed. Three of the host's failures
		// open it, shared.
		time.Sleep(11 * time.Second)
		if err := call(ok); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			call(nil)
		}
		isOpen()
		published(2)
	})
}
