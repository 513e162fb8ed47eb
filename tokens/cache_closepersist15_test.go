package tokens

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hungStore is a Store whose Set hangs until its context ends (a keyring
// waiting on a D-Bus peer that does not answer). It counts the writes that
// started after closed was set, and the Sets still running.
type hungStore struct {
	*MemoryStore
	closed       atomic.Bool
	started      chan struct{} // one receive per Set that started
	running      atomic.Int32
	afterClose   atomic.Int32
	mu           sync.Mutex
	endedByClose int // Sets whose context was cancelled with ErrClosed as cause
}

func (s *hungStore) Set(ctx context.Context, key string, v []byte) error {
	if s.closed.Load() {
		s.afterClose.Add(1)
	}
	s.running.Add(1)
	defer s.running.Add(-1)
	s.started <- struct{}{}
	<-ctx.Done()
	s.mu.Lock()
	if context.Cause(ctx) == ErrClosed {
		s.endedByClose++
	}
	s.mu.Unlock()
	return ctx.Err()
}

// TestCacheCloseEndsPersistence: Close ends the persisting of a token as it
// ends a refresh. A write hung in the store at Close (a keyring that does
// not answer) kept the refresh's goroutine for the refresh timeout after
// Close, a write queued behind it ran after Close, and the hung write's
// failure was reported to the error handler after Close, while Cache says
// nothing is persisted or reported after Close. Here the refresh timeout
// is an hour: only Close can end the writes.
func TestCacheCloseEndsPersistence(t *testing.T) {
	store := &hungStore{MemoryStore: NewMemoryStore(), started: make(chan struct{}, 4)}
	var n atomic.Int32
	src := SourceFunc(func(context.Context) (Token, error) {
		return NewToken(fmt.Sprintf("tok-%d", n.Add(1)), "Bearer", time.Now().Add(time.Hour)), nil
	})
	var reportsAfterClose atomic.Int32
	var closed atomic.Bool
	c := mustCache(t, src, WithPersistence(store, "tok"), WithRefreshTimeout(time.Hour),
		WithErrorHandler(func(err error) {
			if closed.Load() {
				reportsAfterClose.Add(1)
				t.Logf("reported after Close: %v", err)
			}
		}))
	t1 := mustToken(t, c, "tok-1")
	<-store.started // tok-1's write hangs
	// A second refresh (after a 401) publishes tok-2, whose write queues
	// behind tok-1's.
	if !c.Invalidate(t1) {
		t.Fatal("Invalidate(tok-1) = false")
	}
	mustToken(t, c, "tok-2")

	closed.Store(true)
	store.closed.Store(true)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool {
		store.mu.Lock()
		defer store.mu.Unlock()
		return store.endedByClose >= 1 && store.running.Load() == 0
	}, func() string {
		return fmt.Sprintf("%d store writes still running after Close (refresh timeout 1 h)", store.running.Load())
	})
	if t.Failed() {
		t.FailNow() // the hung write holds saveSem: the checks below would hang
	}
	// Whatever was queued has had its chance to run (or is hung in Set,
	// which the wait above would have caught).
	c.saveSem <- struct{}{}
	<-c.saveSem
	c.reportSem <- struct{}{}
	<-c.reportSem
	if k := store.afterClose.Load(); k != 0 {
		t.Errorf("%d store writes started after Close, want 0", k)
	}
	if k := reportsAfterClose.Load(); k != 0 {
		t.Errorf("%d errors reported after Close, want 0", k)
	}
}
