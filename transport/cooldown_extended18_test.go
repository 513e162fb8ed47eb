package transport_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// A call waiting out a host's cooldown sent as soon as the end it had
// read passed, though the cooldown had been extended meanwhile (another
// call's 429 with a longer Retry-After): the request went out inside the
// cooldown the server asked for. The in-memory store is read again after
// the wait, and the call waits out the extension before sending.
func TestCooldownExtendedDuringWaitIsHonoured(t *testing.T) {
	var mu sync.Mutex
	var arrived time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived = time.Now()
		mu.Unlock()
	}))
	defer srv.Close()
	store := transport.NewCooldowns(0)
	rt, err := transport.NewRetry(srv.Client().Transport, transport.RetryConfig{Cooldowns: store, ServerWaitJitter: -1, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	host := transport.HostKey(req.URL)
	store.SetCooldown(host, time.Now().Add(100*time.Millisecond))
	extended := make(chan time.Time, 1)
	go func() {
		// While the call waits out the first 100 ms: another call's
		// answer extends the cooldown.
		time.Sleep(30 * time.Millisecond)
		end := time.Now().Add(300 * time.Millisecond)
		store.SetCooldown(host, end)
		extended <- end
	}()
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	end := <-extended
	mu.Lock()
	defer mu.Unlock()
	if arrived.Before(end) {
		t.Errorf("the request reached the server %v before the extended cooldown ended", end.Sub(arrived))
	}
}
