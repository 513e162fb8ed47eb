package transport

import (
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"testing"
)

// A token refresh goes on, on its own goroutine, with the attempt's
// detached context after the attempt stopped waiting for it: net/http (a
// dial it goes on with) looks up its ClientTrace while the breaker arms
// and disarms the attempt's connection probe. The lookup must never find
// the probe armed and then read it disarmed (a nil dereference in a
// net/http goroutine: the process dies), and must never hand out the
// breaker's probe (the attempt's connection would be the token
// endpoint's).
func TestDetachedTraceLookupDuringDisarm(t *testing.T) {
	if httptraceKey == nil {
		t.Skip("httptrace key not learnt")
	}
	req, _ := http.NewRequest(http.MethodGet, "https://api.example/", nil)
	r := BeginAttempt(req, 0)
	a, ok := AttemptFrom(r.Context())
	if !ok {
		t.Fatal("no attempt")
	}
	dctx := a.detach(r.Context())

	var stop atomic.Bool
	var panicked atomic.Value
	var probes atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		defer func() {
			if v := recover(); v != nil {
				panicked.Store(v)
			}
		}()
		for !stop.Load() {
			if tr := httptrace.ContextClientTrace(dctx); tr != nil {
				probes.Add(1)
			}
		}
	})
	for i := 0; i < 2_000_000 && panicked.Load() == nil; i++ {
		p := armConnProbe(a)
		p.disarm(a)
	}
	stop.Store(true)
	wg.Wait()
	if v := panicked.Load(); v != nil {
		t.Fatalf("a detached context's trace lookup panicked while the probe was disarmed: %v", v)
	}
	if n := probes.Load(); n != 0 {
		t.Fatalf("a detached context's trace lookup found a trace %d times; the caller set none", n)
	}
}

// A caller's own ClientTrace is what a token fetch sees through the
// detached context, whether or not the breaker's probe is armed.
func TestDetachedTraceIsTheCallers(t *testing.T) {
	if httptraceKey == nil {
		t.Skip("httptrace key not learnt")
	}
	user := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) {}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), user), http.MethodGet, "https://api.example/", nil)
	r := BeginAttempt(req, 0)
	a, _ := AttemptFrom(r.Context())
	dctx := a.detach(r.Context())
	if got := httptrace.ContextClientTrace(dctx); got != user {
		t.Fatalf("unarmed: detached trace = %p, want the caller's %p", got, user)
	}
	p := armConnProbe(a)
	if got := httptrace.ContextClientTrace(r.Context()); got == user || got == nil {
		t.Fatalf("armed: the attempt's trace = %p, want the probe's composed trace", got)
	}
	if got := httptrace.ContextClientTrace(dctx); got != user {
		t.Fatalf("armed: detached trace = %p, want the caller's %p", got, user)
	}
	p.disarm(a)
}
