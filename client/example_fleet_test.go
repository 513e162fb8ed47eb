package client_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// breakerStates is a transport.BreakerStore in memory, shared by the
// clients of one process. Across replicas, use the fleet module's store
// on Redis (fleet.NewBreakerStore, or client.WithFleet(fleet.New(...))).
type breakerStates struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (s *breakerStates) OpenUntil(host string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[host]
}

func (s *breakerStates) SetOpenUntil(host string, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if until.After(s.m[host]) {
		s.m[host] = until
	}
}

// Two clients share their breakers' "open until": once one client's
// breaker for a failing API opens, the other fails fast without sending.
func ExampleWithBreakerStore() {
	// An embedded HTTPS API that is down (offline).
	ca, _ := testpki.NewCA("example")
	leaf, _ := ca.Server("127.0.0.1")
	var calls atomic.Int32
	api := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	api.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	api.StartTLS()
	defer api.Close()

	store := &breakerStates{m: map[string]time.Time{}}
	replica := func() *client.Client {
		c, err := client.New(
			client.WithOrigins(api.URL),
			client.WithTLSConfig(&tls.Config{RootCAs: testpki.Pool(ca)}),
			client.WithMaxAttempts(1),
			client.WithBreakerStore(store),
		)
		if err != nil {
			panic(err)
		}
		return c
	}
	a, b := replica(), replica()
	defer a.Close()
	defer b.Close()

	get := func(c *client.Client) string {
		req, _ := http.NewRequest(http.MethodGet, api.URL+"/v1/status", nil)
		resp, err := c.Do(req)
		var open *transport.CircuitOpenError
		switch {
		case errors.As(err, &open):
			return fmt.Sprintf("circuit open (shared: %v)", open.Shared)
		case err != nil:
			return err.Error()
		}
		resp.Body.Close()
		return resp.Status
	}
	for range transport.DefaultBreakerConsecutiveFailures {
		get(a) // 503s open a's breaker
	}
	fmt.Println("a:", get(a))
	fmt.Println("b:", get(b))
	fmt.Println("requests the API got:", calls.Load())
	// Output:
	// a: circuit open (shared: false)
	// b: circuit open (shared: true)
	// requests the API got: 5
}
