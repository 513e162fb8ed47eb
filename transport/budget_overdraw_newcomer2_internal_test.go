package transport

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBudgetConcurrentRetriesAcrossASliceBoundaryDoNotOverdraw: callers
// whose readings straddle a time slice's end take retries from two
// buckets at once. The compare-and-swap on one bucket did not see the
// takes in the other, so each side checked the same total and the floor
// of 3 let 6 or 7 retries through; the budget promises concurrent callers
// cannot overdraw it.
func TestBudgetConcurrentRetriesAcrossASliceBoundaryDoNotOverdraw(t *testing.T) {
	for trial := 0; trial < 2000; trial++ {
		b := newBudget(BudgetConfig{Ratio: 0.1, MinRetries: 3, Window: 10 * time.Second})
		edge := 5 * b.win.slice
		var granted atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				now := edge - 1 // the end of one slice
				if g%2 == 1 {
					now = edge // the start of the next
				}
				for range 4 {
					if b.tryRetry(now) {
						granted.Add(1)
					}
				}
			}()
		}
		close(start)
		wg.Wait()
		if n := granted.Load(); n > 3 {
			t.Fatalf("trial %d: %d retries granted, the budget allows 3", trial, n)
		}
	}
}
