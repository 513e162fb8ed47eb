package transport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// What the black-box tests (attempt_perf_test.go) cannot see: that the
// attempt deadline stays a plain value (no timer context) over a transport
// that never waits on it, which values come from the attempt's room, and
// the attempt's clock bookkeeping.

// The usual stack over a transport that answers at once and never waits on
// its context: neither the attempt's deadline nor the call's ever makes a
// timer context, before or after the body is closed; closing the body
// releases the attempt's (context.Canceled, Done closed on demand).
func TestAttemptDeadlineStaysLazy(t *testing.T) {
	var seen context.Context
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = r.Context()
		if err := seen.Err(); err != nil { // as net/http checks before sending
			return nil, err
		}
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("ok")), Request: r}, nil
	})
	rt, err := NewResilience(base, StandardPreset())
	if err != nil {
		t.Fatal(err)
	}
	rt = NewCallTrace(rt, TraceConfig{})
	for i := range 3 {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/items", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		ad, ok := seen.(*attemptDeadline)
		if !ok {
			t.Fatalf("call %d: the attempt's context is a %T, want the lazy attempt deadline", i, seen)
		}
		cd, ok := ad.a.ctx.Context.(*callDeadline)
		if !ok {
			t.Fatalf("call %d: the attempt's parent is a %T, want the lazy call deadline", i, ad.a.ctx.Context)
		}
		if ad.materialized() || cd.materialized() {
			t.Fatalf("call %d: a timer context was made (attempt %v, call %v) though nothing waited", i, ad.materialized(), cd.materialized())
		}
		if ad.Err() != nil {
			t.Fatalf("call %d: attempt context ended before the body was closed: %v", i, ad.Err())
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ad.materialized() || cd.materialized() {
			t.Fatalf("call %d: closing the body made a timer context", i)
		}
		if !ad.released.Load() || !errors.Is(ad.Err(), context.Canceled) {
			t.Fatalf("call %d: after the body was closed: released %v, Err %v", i, ad.released.Load(), ad.Err())
		}
		select {
		case <-ad.Done():
		default:
			t.Fatalf("call %d: Done of a released attempt deadline is not closed", i)
		}
	}
}

// setHeader hands out one-element, capped value slices: the first three
// from the attempt's room, then new ones; only for the attempt's own
// request. The attempt's header map has room for the fields a full stack
// adds: adding them costs no allocation beyond BeginAttempt's own.
func TestAttemptHeaderRoom(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/items", nil)
	// Four fields: with the six a stack adds, more than a small map holds.
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "test")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", "r-1")

	r := BeginAttempt(req, 0)
	a, _ := AttemptFrom(r.Context())

	// A shallow copy of the attempt's request is not its own: its values
	// are its own too, and the room is left alone.
	other := r.WithContext(r.Context())
	other.Header = r.Header.Clone()
	setHeader(other, "X-Other", "o")
	if a.nvals != 0 || other.Header.Get("X-Other") != "o" || r.Header.Get("X-Other") != "" {
		t.Fatalf("setHeader on a request the attempt does not own: nvals %d, %v", a.nvals, other.Header)
	}

	keys := []string{"Idempotency-Key", "X-Api-Key", "Authorization", "Traceparent", "X-Fifth"}
	for i, k := range keys {
		setHeader(r, k, "v"+k)
		if int(a.nvals) != min(i+1, len(a.vals)) {
			t.Fatalf("after %d values the room holds %d", i+1, a.nvals)
		}
	}
	for i, k := range keys {
		v := r.Header[k]
		if len(v) != 1 || cap(v) != 1 || v[0] != "v"+k {
			t.Fatalf("%s = %q (cap %d), want one capped value", k, v, cap(v))
		}
		inRoom := false
		for j := range a.vals {
			inRoom = inRoom || &v[0] == &a.vals[j]
		}
		if want := i < len(a.vals); inRoom != want {
			t.Errorf("%s: value in the room %v, want %v", k, inRoom, want)
		}
	}
	if req.Header.Get("Authorization") != "" || len(req.Header) != 4 {
		t.Errorf("caller's header changed: %v", req.Header)
	}

	// Allocations: BeginAttempt alone, then with the six fields a full
	// stack adds (three through the room, three with values made ahead).
	if testing.CoverMode() != "" {
		t.Skip("allocation counts differ under coverage")
	}
	pre := [][]string{{"sha-256=:x:"}, {"sig1=:x:"}, {`sig1=("@method")`}}
	bare := testing.AllocsPerRun(200, func() {
		_ = BeginAttempt(req, 0)
	})
	full := testing.AllocsPerRun(200, func() {
		r := BeginAttempt(req, 0)
		setHeader(r, "Idempotency-Key", "k")
		setHeader(r, "Authorization", "Bearer t")
		setHeader(r, "Traceparent", "00-x")
		r.Header["Content-Digest"] = pre[0]
		r.Header["Signature"] = pre[1]
		r.Header["Signature-Input"] = pre[2]
	})
	if full != bare {
		t.Errorf("adding the stack's six fields costs %v allocations beyond BeginAttempt's %v, want none", full-bare, bare)
	}
	header := testing.AllocsPerRun(200, func() {
		_ = cloneHeaderRoom(req.Header, attemptHeaderRoom)
	})
	if bare != header+1 {
		t.Errorf("BeginAttempt: %v allocations, want one (the attempt, with its request and URL) plus its header's %v", bare, header)
	}
}

// The attempt's clock reading: with a shared clock, the one the attempt
// began with, until a layer says it waited (clockMoved) or the auth layer
// forks a second send; then the next reader takes a fresh one, which the
// layers after it share. Without a shared clock (BeginAttempt, a retry
// layer without SharedClock), every reader gets a fresh reading. Only the
// request the attempt owns uses its state; the host key follows the URL.
func TestAttemptClockBookkeeping(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/items", nil)
	then := time.Now().Add(-time.Hour)
	r := beginAttempt(req, 0, "given-host", then, true)
	a := ownAttempt(r)
	if a == nil {
		t.Fatal("the attempt does not own its request")
	}
	if now := a.clock(); !now.Equal(then) {
		t.Fatalf("clock = %v; want the reading the attempt began with", now)
	}
	if host := a.hostKey(r.URL); host != "given-host" {
		t.Fatalf("hostKey = %q; want the host the attempt began with", host)
	}

	a.clockMoved()
	fresh := a.clock()
	if !fresh.After(then) {
		t.Fatalf("after clockMoved: %v, want a fresh reading", fresh)
	}
	if again := a.clock(); !again.Equal(fresh) {
		t.Fatalf("the fresh reading is not shared: %v then %v", fresh, again)
	}

	a.now = then
	r2 := fork(r, r.Context())
	if a.owned != r2 || !a.now.IsZero() {
		t.Fatalf("fork: owned moved %v, reading %v; want the copy owned and no reading", a.owned == r2, a.now)
	}
	if ownAttempt(r2) != a || !a.clock().After(then) {
		t.Fatal("the forked send does not take a fresh reading")
	}
	if ownAttempt(r) != nil {
		t.Fatal("the request the fork replaced still counts as the attempt's own")
	}

	// The host key follows the URL: a layer that sends elsewhere gets the
	// other host's key.
	r2.URL = &url.URL{Scheme: "https", Host: "failover.example.test", Path: "/"}
	if h := a.hostKey(r2.URL); h != HostKey(r2.URL) {
		t.Fatalf("after a host change: host %q, want %q", h, HostKey(r2.URL))
	}

	// Without a shared clock, every reading is fresh and nothing is kept.
	r3 := BeginAttempt(req, 1)
	a3 := ownAttempt(r3)
	first := a3.clock()
	if !a3.now.IsZero() {
		t.Fatal("an attempt without a shared clock kept a reading")
	}
	if second := a3.clock(); second.Before(first) {
		t.Fatal("readings went backwards")
	}
	if h := a3.hostKey(r3.URL); h != HostKey(req.URL) {
		t.Fatalf("host %q, want %q", h, HostKey(req.URL))
	}

	// A request the attempt does not own (a side request made with its
	// context) gets no attempt: fresh readings, clockMoved harmless.
	side, _ := http.NewRequestWithContext(r3.Context(), http.MethodGet, "https://other.example.test/", nil)
	if ownAttempt(side) != nil {
		t.Fatal("a side request with the attempt's context counts as the attempt's own")
	}
	var none *Attempt
	none.clockMoved()
	if none.clock().Before(fresh) || none.hostKey(side.URL) != HostKey(side.URL) {
		t.Fatal("a nil attempt does not read fresh")
	}
}

// The context a token source gets does not carry the attempt, so its own
// requests (on another goroutine, for a background refresh) never touch
// the attempt's state; everything else of the context stays visible.
func TestAttemptDetachedContext(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.test/", nil)
	r := BeginAttempt(req, 0)
	a := ownAttempt(r)
	d := detached(r.Context(), a)
	if _, ok := AttemptFrom(d); ok {
		t.Fatal("the detached context still carries the attempt")
	}
	if d.Value(key{}) != "v" {
		t.Fatal("the detached context lost the caller's values")
	}
	if detached(r.Context(), a) != d {
		t.Fatal("a second detach of the same context is not the attempt's own (an allocation)")
	}
	if n := testing.AllocsPerRun(100, func() { _ = detached(r.Context(), a) }); n != 0 {
		t.Fatalf("detach allocates %v", n)
	}
	// Not the attempt's own request: a wrapper of its own.
	if d2 := detached(r.Context(), nil); d2 == d {
		t.Fatal("a detach without ownership reused the attempt's slot")
	} else if _, ok := AttemptFrom(d2); ok {
		t.Fatal("the wrapper still carries the attempt")
	}
	if detached(ctx, nil) != ctx {
		t.Fatal("a context without an attempt was wrapped")
	}
}

// Under RetryConfig.SharedClock, the first attempt's reading is the call's
// start while the request is still the call's own copy (only this
// package's call-level layers ran since), and a fresh one once a
// NewCallLayerBoundary has let a caller's layer in, which may have waited.
// Without SharedClock the retry layer always reads the clock.
func TestRetryFirstReadingIsTheCallStart(t *testing.T) {
	var seen *Attempt
	var seenScope *callScope
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen, seenScope = ownAttempt(r), callScopeFrom(r.Context())
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("ok")), Request: r}, nil
	})
	// wait stands for a caller's call layer that blocks (a semaphore, say).
	wait := func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			callScopeFrom(r.Context()).start = time.Now().Add(-time.Hour) // as if it had waited an hour
			return next.RoundTrip(r)
		})
	}
	for _, c := range []struct {
		name     string
		shared   bool
		boundary bool
		want     string // "start": the call's start; "fresh": a later reading
	}{
		{"shared clock", true, false, "start"},
		{"shared clock behind a caller's layer", true, true, "fresh"},
		{"own clock", false, false, "fresh"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rt, err := NewRetry(base, RetryConfig{SharedClock: c.shared})
			if err != nil {
				t.Fatal(err)
			}
			if c.boundary {
				rt = NewCallLayerBoundary(wait(rt))
			} else {
				rt = wait(rt)
			}
			rt = NewCallTrace(rt, TraceConfig{})
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/items", nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if seen == nil || seenScope == nil {
				t.Fatal("the transport saw no attempt or no call scope")
			}
			got := seen.clock()
			switch {
			case c.want == "start" && !got.Equal(seenScope.start):
				t.Fatalf("first reading %v; want the call's start %v", got, seenScope.start)
			case c.want == "fresh" && !got.After(seenScope.start.Add(30*time.Minute)):
				t.Fatalf("first reading %v is the stale call start %v; want a fresh reading", got, seenScope.start)
			}
		})
	}
}
