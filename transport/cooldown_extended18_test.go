package transport_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

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
	first := time.Now().Add(500 * time.Millisecond)
	store.SetCooldown(host, first)
	// While the call waits out the first end, another call's answer
	// extends the cooldown by 200 ms. The extension is made when the
	// layer announces its wait (EventThrottled, after it read the first
	// end), not by a goroutine that sleeps a while first: on a loaded
	// machine that goroutine ran after the first end, and the request
	// went out before any extension (the test then failed for a correct
	// layer).
	end := first.Add(200 * time.Millisecond)
	hook := &onThrottled{Span: trace.SpanFromContext(ctx), do: func() { store.SetCooldown(host, end) }}
	req = req.WithContext(trace.ContextWithSpan(ctx, hook))
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !hook.done.Load() {
		t.Fatal("the call did not wait out the cooldown (no EventThrottled)")
	}
	mu.Lock()
	defer mu.Unlock()
	if arrived.Before(end) {
		t.Errorf("the request reached the server %v before the extended cooldown ended", end.Sub(arrived))
	}
}

// onThrottled is a recording span that runs do, once, at the first
// EventThrottled added to it.
type onThrottled struct {
	trace.Span
	once sync.Once
	done atomic.Bool
	do   func()
}

func (s *onThrottled) IsRecording() bool { return true }

func (s *onThrottled) AddEvent(name string, _ ...trace.EventOption) {
	if name == transport.EventThrottled {
		s.once.Do(func() { s.do(); s.done.Store(true) })
	}
}
