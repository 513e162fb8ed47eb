package transport_test

import (
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// ccStore is a CooldownStore whose calls take a while (a fleet store's first
// read of a host, or its write of a new cooldown, waits for Redis) and that
// counts them as waits (transport.WaitCounter) when counted is set.
type ccStore struct {
	readDelay, writeDelay time.Duration
	until                 time.Time // what reads answer
	waits                 atomic.Uint64
	counted               bool
	writes                atomic.Int32
}

func (s *ccStore) CooldownUntil(string) time.Time {
	if s.readDelay > 0 {
		s.waits.Add(1)
		time.Sleep(s.readDelay)
	}
	return s.until
}

func (s *ccStore) SetCooldown(string, time.Time) {
	s.writes.Add(1)
	if s.writeDelay > 0 {
		s.waits.Add(1)
		time.Sleep(s.writeDelay)
	}
}

// ccCounted is ccStore with its WaitCounter.
type ccCounted struct{ *ccStore }

func (s ccCounted) Waits() uint64 { return s.waits.Load() }

// A cooldown store read that blocks while a cooldown is set: the attempt
// starts when the cooldown ends, not the read's time after it (the wait
// used to be computed from the clock reading taken before the read).
func TestCooldownWaitCountsFromAfterASlowRead(t *testing.T) {
	for _, counted := range []bool{true, false} {
		name := map[bool]string{true: "counted", false: "uncounted"}[counted]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				store := &ccStore{readDelay: 2 * time.Second, until: start.Add(3 * time.Second)}
				var cs transport.CooldownStore = store
				if counted {
					cs = ccCounted{store}
				}
				var sentAt time.Time
				next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
				rt := apStack(t, 0, time.Minute, transport.RetryConfig{Cooldowns: cs, ServerWaitJitter: -1},
					nil, roundTripFunc(func(r *http.Request) (*http.Response, error) {
						sentAt = time.Now()
						return next.RoundTrip(r)
					}))
				resp, err := resGet(t, t.Context(), rt)
				if err != nil {
					t.Fatal(err)
				}
				resReadAll(t, resp)
				if got := sentAt.Sub(start); got != 3*time.Second {
					t.Fatalf("sent %v after the call began; the cooldown ended after 3s", got)
				}
			})
		})
	}
}

// A cooldown store whose write of the server's cooldown blocks: the retry
// layer reads the clock again before deciding whether the wait fits the
// deadline. With the reading from before the write, a 1 s Retry-After
// seemed to fit 2.5 s of deadline when only 0.5 s was left, and the call
// slept into its deadline instead of stopping at once.
func TestRetryClockAfterSlowCooldownWrite(t *testing.T) {
	for _, counted := range []bool{true, false} {
		name := map[bool]string{true: "counted", false: "uncounted"}[counted]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := &ccStore{writeDelay: 2 * time.Second}
				var cs transport.CooldownStore = store
				if counted {
					cs = ccCounted{store}
				}
				next := transporttest.NewResponder(
					transporttest.Respond(503, "busy", "Retry-After", "1"),
					transporttest.Respond(200, "ok"))
				rt := apStack(t, 2500*time.Millisecond, time.Second,
					transport.RetryConfig{Cooldowns: cs, MaxAttempts: 3, ServerWaitJitter: -1, MinAttemptTime: -1}, nil, next)
				start := time.Now()
				_, err := resGet(t, t.Context(), rt)
				var re *transport.RetryError
				if !errors.As(err, &re) || re.Reason != transport.StopDeadline {
					t.Fatalf("err = %v; want a RetryError stopped for the deadline", err)
				}
				if !errors.Is(err, transport.ErrRateLimited) {
					t.Errorf("err = %v; want ErrRateLimited (the server's wait did not fit)", err)
				}
				if got := time.Since(start); got != 2*time.Second {
					t.Errorf("stopped %v after the call began; want 2s (at once after the write)", got)
				}
				if n := next.Calls(); n != 1 || store.writes.Load() != 1 {
					t.Errorf("%d sends, %d cooldown writes; want 1 and 1", n, store.writes.Load())
				}
			})
		})
	}
}
