package fleet

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/securecall/securecall/fleet/internal/redistest"
)

// TestNonceWatchForeignKeyIsNotAnOutage: a claim its caller gave up on
// makes the store check Redis in the background with SETRANGE on the
// claim's key. When that key holds another type's value (another
// application's key under a Prefix shared with it: a hash), Redis answers
// WRONGTYPE: the key collides, Redis is up. That answer marked Redis down
// for this replica (every claim then refused under FailClosed for a
// ProbeInterval, or made locally under FallBackLocal), and said nothing
// of the key. It now counts as a Redis error, leaves Redis up, and is
// reported to OTel's error handler naming the key and the Prefix option.
func TestNonceWatchForeignKeyIsNotAnOutage(t *testing.T) {
	var mu sync.Mutex
	var reported []error
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		mu.Lock()
		reported = append(reported, err)
		mu.Unlock()
	}))
	t.Cleanup(func() { otel.SetErrorHandler(prev) })

	srv := redistest.Start(t)
	c := srv.Client()
	st, err := NewNonceStore(c, NonceOptions{Prefix: "shared:", Timeout: patientTimeout, ProbeInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	key := st.key("k", "n1")
	if err := c.HSet(context.Background(), key, "field", "other app").Err(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the caller gave up: the store checks Redis in the background
	now := time.Now()
	if err := st.Claim(ctx, "k", "n1", now, now.Add(time.Minute)); !errors.Is(err, context.Canceled) {
		t.Fatalf("claim of a caller that gave up: %v, want context.Canceled", err)
	}
	for st.h.watching.Load() {
		runtime.Gosched()
	}
	s := st.Stats()
	if s.Degraded {
		t.Errorf("stats %+v: the foreign key's WRONGTYPE marked Redis down", s)
	}
	if s.RedisErrors != 1 {
		t.Errorf("stats %+v: want the WRONGTYPE counted as one Redis error", s)
	}
	mu.Lock()
	got := slices.Clone(reported)
	mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("reported %q, want one error", got)
	}
	msg := got[0].Error()
	if !strings.Contains(msg, key) || !strings.Contains(msg, "Prefix") || !strings.Contains(msg, "WRONGTYPE") {
		t.Errorf("reported %q: want the key %q, the Prefix option and Redis's WRONGTYPE named", msg, key)
	}
	if err := st.Claim(context.Background(), "k", "n2", now, now.Add(time.Minute)); err != nil {
		t.Fatalf("next claim: %v, want it claimed in Redis", err)
	}
}
