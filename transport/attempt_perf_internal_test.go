package transport

import (
	"context"
	"errors"
	"io"
	"net/http"
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
		if a.nvals != min(i+1, len(a.vals)) {
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

// The attempt's clock reading: the one its first layer took, until a layer
// says it waited (clockMoved) or the auth layer forks a second send; then
// the next reader takes a fresh one, which the layers after it share.
func TestAttemptClockBookkeeping(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/items", nil)
	then := time.Now().Add(-time.Hour)
	r := beginAttempt(req, 0, "given-host", then)
	a, _ := AttemptFrom(r.Context())

	now, host := clockAndHost(r)
	if !now.Equal(then) || host != "given-host" {
		t.Fatalf("clockAndHost = %v, %q; want the reading and host the attempt began with", now, host)
	}
	if !attemptClock(r.Context()).Equal(then) {
		t.Fatal("attemptClock does not return the attempt's reading")
	}

	clockMoved(r.Context())
	fresh := attemptClock(r.Context())
	if !fresh.After(then) {
		t.Fatalf("after clockMoved: %v, want a fresh reading", fresh)
	}
	if again, _ := clockAndHost(r); !again.Equal(fresh) {
		t.Fatalf("the fresh reading is not shared: %v then %v", fresh, again)
	}

	a.now = then
	r2 := fork(r, r.Context())
	if a.owned != r2 || !a.now.IsZero() {
		t.Fatalf("fork: owned moved %v, reading %v; want the copy owned and no reading", a.owned == r2, a.now)
	}
	if !attemptClock(r2.Context()).After(then) {
		t.Fatal("the forked send does not take a fresh reading")
	}

	// Without a host given, the attempt finds it once.
	r3 := BeginAttempt(req, 1)
	if _, h := clockAndHost(r3); h != HostKey(req.URL) {
		t.Fatalf("host %q, want %q", h, HostKey(req.URL))
	}

	// Outside an attempt: fresh readings, and clockMoved is harmless.
	clockMoved(context.Background())
	if attemptClock(context.Background()).Before(fresh) {
		t.Fatal("attemptClock outside an attempt is not a fresh reading")
	}
}
