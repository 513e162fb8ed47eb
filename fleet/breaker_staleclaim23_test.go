package fleet

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/fleet/internal/redistest"
)

// TestBreakerStoreRefreshEndingBeforeClaimReadsOnce: a caller that found
// a host's entry stale, and was held up (preempted, on a loaded machine)
// before it claimed the refresh while another caller's refresh ran and
// ended, must not read Redis again: the entry was fetched a moment ago,
// well inside RefreshInterval. It used to claim the refresh on the
// strength of its first look and make a second read at once (seen as
// TestBreakerStoreCache's "2 Redis calls (0 failed)" under load); every
// refresh could cost two reads, per host, on every replica. The hook
// holds the late caller at that point, so the interleaving is exact.
func TestBreakerStoreRefreshEndingBeforeClaimReadsOnce(t *testing.T) {
	srv := redistest.Start(t)
	s := newBreakers(t, srv, BreakerOptions{RefreshInterval: time.Hour})
	const host = "api.example.com"
	checked, release := make(chan struct{}), make(chan struct{})
	var held atomic.Bool
	testHookStaleClaim = func() {
		if held.CompareAndSwap(false, true) {
			close(checked)
			<-release
		}
	}
	t.Cleanup(func() { testHookStaleClaim = nil })
	late := make(chan struct{})
	go func() {
		defer close(late)
		s.OpenUntil(host)
	}()
	select {
	case <-checked: // the late caller saw the entry never fetched, and has not claimed yet
	case <-time.After(time.Minute):
		t.Fatal("the first caller never found the entry stale")
	}
	s.OpenUntil(host) // claims the refresh and starts it
	settle(t, s)      // the refresh has ended
	if st := s.Stats(); st.RedisCalls != 1 || st.RedisErrors != 0 {
		t.Fatalf("the refresh made %d Redis calls (%d failed), want 1 that succeeded", st.RedisCalls, st.RedisErrors)
	}
	close(release)
	<-late
	settle(t, s)
	if st := s.Stats(); st.RedisCalls != 1 {
		t.Fatalf("%d Redis calls: the caller held before its claim read Redis again just after a refresh, inside RefreshInterval (1h)", st.RedisCalls)
	}
}
