package transport

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// A slot freed while a request waits for one goes to that request: one
// arriving at that moment (tryAcquire, the throttle's fast path) does not
// take it ahead of the queue, which could starve queued requests until
// their wait ran out.
func TestHostSemHandsFreedSlotToQueuedWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &hostSem{max: 1}
		if !s.tryAcquire() {
			t.Fatal("first slot not taken")
		}
		got := make(chan error, 1)
		go func() { got <- s.acquire(context.Background(), time.Minute) }()
		synctest.Wait() // the waiter is queued
		barged := false
		s.testFreed = func() { barged = s.tryAcquire() }
		s.release()
		synctest.Wait()
		if barged {
			t.Fatal("a newcomer took the freed slot ahead of the queued waiter")
		}
		select {
		case err := <-got:
			if err != nil {
				t.Fatalf("queued waiter: %v", err)
			}
		default:
			t.Fatal("queued waiter not handed the freed slot")
		}
		if c := s.cur.Load(); c != 1 {
			t.Fatalf("%d slots taken, want 1 (the waiter's)", c)
		}
		s.release()
		if c := s.cur.Load(); c != 0 || s.waiting.Load() != 0 {
			t.Fatalf("after release: %d taken, %d waiting", c, s.waiting.Load())
		}
	})
}
