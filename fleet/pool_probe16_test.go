package fleet

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/securecall/securecall/fleet/internal/redistest"
)

// The probe of a Redis marked down that only finds the client's pool
// exhausted never reached Redis, so it says nothing about Redis's health:
// it must not use up the probe, or a recovered Redis stays marked down
// (every nonce claim refused under FailClosed) for a whole ProbeInterval
// more. The next call probes at once.
func TestPoolExhaustedProbeKeepsTheProbeDue(t *testing.T) {
	srv := redistest.Start(t)
	c, hold := busyPool(t, srv)
	s, err := NewNonceStore(c, NonceOptions{Timeout: time.Second, ProbeInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	// Redis was marked down by an earlier failure and its probe is due
	// (the ProbeInterval has passed).
	s.h.failed(s.h.clk.Now(), errors.New("an earlier outage"))
	s.h.nextProbe.Store(s.h.clk.Mono(s.h.clk.Now()))

	release := hold()
	err = s.Claim(context.Background(), "k", "n1", now, now.Add(time.Minute))
	if !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("the probe on an exhausted pool: %v, want ErrPoolExhausted", err)
	}
	release()
	calls := s.Stats().RedisCalls
	if err := s.Claim(context.Background(), "k", "n1", now, now.Add(time.Minute)); err != nil {
		t.Fatalf("claim after the pool freed up: %v, want it accepted (Redis is up)", err)
	}
	if got := s.Stats().RedisCalls - calls; got != 1 {
		t.Errorf("claim after the pool freed up made %d Redis calls, want 1 (the probe)", got)
	}
	if st := s.Stats(); st.Degraded {
		t.Errorf("stats %+v: still marked down after a successful probe", st)
	}
}
