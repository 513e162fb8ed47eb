package signer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/securecall/securecall/internal/monoclock"
)

// stepClock is a wall clock the test steps (NTP, an operator, a resumed
// virtual machine) over a monotonic clock that only moves forward: mono is
// the monotonic time since t0, step the wall clock's error.
type stepClock struct {
	mono, step time.Duration
}

func (c *stepClock) now() time.Time { return t0.Add(c.mono + c.step) }

// ticks takes the step out again: the store's view of the monotonic clock.
func (c *stepClock) ticks(now time.Time) int64 { return monoclock.Ticks(now.Add(-c.step)) }

// A nonce is remembered for its whole window however the wall clock steps:
// a Claim made while the wall clock is an hour ahead must not drop the
// nonces claimed before, which become replayable again once it is set
// back. (Entries aged out on the wall clock: the claim an hour ahead
// dropped every live nonce, and a replay within its window was accepted.)
func TestMemoryNonceStoreSurvivesWallClockSteps(t *testing.T) {
	ctx := context.Background()
	const window = 2 * time.Minute
	c := &stepClock{}
	s := NewMemoryNonceStore(0)
	s.ticks = c.ticks

	now := c.now()
	if err := s.Claim(ctx, "k", "n1", now, now.Add(window)); err != nil {
		t.Fatal(err)
	}
	until1 := now.Add(window)

	// The wall clock jumps an hour ahead; a request signed by a client
	// whose clock did the same is claimed.
	c.mono, c.step = time.Second, time.Hour
	if now := c.now(); s.Claim(ctx, "k", "n2", now, now.Add(window)) != nil {
		t.Fatal("claim n2")
	}
	until2 := c.now().Add(window)

	// Set back: n1's signature is inside its window again, and replayed.
	c.mono, c.step = 2*time.Second, 0
	if err := s.Claim(ctx, "k", "n1", c.now(), until1); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay of n1 after the wall clock stepped ahead and back: %v, want ErrReplay", err)
	}
	// n2's window, an hour ahead on the wall clock, is not over either,
	// though its length has passed on the monotonic clock.
	c.mono = 3 * window
	if err := s.Claim(ctx, "k", "n2", c.now(), until2); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay of n2 once the wall clock was set back: %v, want ErrReplay", err)
	}

	// Once a window is over on both clocks, its nonce is dropped.
	c.mono = time.Hour + 3*window
	if err := s.Claim(ctx, "k", "n3", c.now(), c.now().Add(window)); err != nil {
		t.Fatal(err)
	}
	if n := s.Len(); n != 1 {
		t.Fatalf("%d nonces held, want 1 (n1 and n2 are over)", n)
	}
}
