package transport

import (
	"context"
	"testing"
	"time"
)

// TestLazyDeadlineErrAllocs: Err of a live lazy deadline (nothing ended:
// the question a layer asks before it starts an attempt) allocates
// nothing; the latched error of an ended one is allocated once.
func TestLazyDeadlineErrAllocs(t *testing.T) {
	var ld lazyDeadline
	ld.init(context.Background(), time.Now().Add(time.Hour))
	if n := testing.AllocsPerRun(100, func() {
		if ld.Err() != nil {
			t.Fatal("a deadline an hour away has ended")
		}
	}); n != 0 {
		t.Errorf("Err of a live deadline: %v allocations, want 0", n)
	}
	parent, cancel := context.WithCancel(context.Background())
	var ended lazyDeadline
	ended.init(parent, time.Now().Add(time.Hour))
	cancel()
	if n := testing.AllocsPerRun(100, func() {
		if ended.Err() != context.Canceled {
			t.Fatal("the parent's cancellation is not the deadline's")
		}
	}); n != 0 {
		t.Errorf("Err of an ended deadline, latched: %v allocations, want 0", n)
	}
}
