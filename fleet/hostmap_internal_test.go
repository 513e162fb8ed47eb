package fleet

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/securecall/securecall/fleet/internal/redistest"
)

// A full host map drops the entries whose end has passed, then the one
// that ends soonest, never one with longer to run or one with an open end
// still to write. (It used to drop an arbitrary entry in map order once no
// entry had ended: a cooldown with minutes to run could go, and during a
// Redis outage, when it is not in Redis either, it was lost.) Twenty rounds
// with the ends in random order: an arbitrary choice drops the soonest one
// by chance once in four, so it passes all twenty about once in 4^20.
func TestHostMapEvictsTheSoonestEnd(t *testing.T) {
	n := sysClock.Mono(time.Now())
	for round := range 20 {
		var hm hostMap[coolEntry]
		hm.max = 4
		hm.end = func(e *coolEntry) int64 { return e.until.Load() }
		ends := map[string]time.Duration{"a": 40 * time.Second, "b": 10 * time.Second, "c": 30 * time.Second, "d": 20 * time.Second}
		hosts := []string{"a", "b", "c", "d"}
		rand.Shuffle(len(hosts), func(i, j int) { hosts[i], hosts[j] = hosts[j], hosts[i] })
		for _, h := range hosts {
			hm.get(h, n).until.Store(n + int64(ends[h]))
		}
		hm.get("e", n).until.Store(n + int64(time.Minute))
		m := *hm.m.Load()
		if _, ok := m["b"]; ok || len(m) != 4 {
			t.Fatalf("round %d: kept %v; want a, c, d, e (b ends first)", round, keys(m))
		}
		// An entry whose end has passed goes before any other.
		m["c"].until.Store(n - int64(time.Second))
		hm.get("f", n)
		m = *hm.m.Load()
		if _, ok := m["c"]; ok || len(m) != 4 {
			t.Fatalf("round %d: kept %v; want a, d, e, f (c had ended)", round, keys(m))
		}
	}
}

func keys[E any](m map[string]*E) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return append(ks, fmt.Sprintf("(%d)", len(m)))
}

// A replica reading back its own write does not take the end Redis holds
// for a later one: Redis starts the expiry when the write arrives, so the
// end it holds is later by the write's latency. The breaker layer would
// report its own open state as another replica's (a flake of
// TestBreakerOpenOnOneReplicaFailsOthers on a loaded machine, where the
// write took more than the layer's millisecond of slack). The latency is
// made 50 ms here by giving the write a clock reading taken 50 ms before.
// An end another replica set later still comes through.
func TestReadBackOfOwnWrite(t *testing.T) {
	srv := redistest.Start(t)
	a := newBreakers(t, srv, BreakerOptions{RefreshInterval: time.Hour})
	b := newBreakers(t, srv, BreakerOptions{RefreshInterval: time.Hour})
	const host = "api.example.com"
	e := a.hosts.get(host, sysClock.Mono(time.Now()))
	u := sysClock.Mono(time.Now().Add(time.Minute))
	a.keys.write(a.key(host), &e.untilEntry, u, time.Now().Add(-50*time.Millisecond))
	a.keys.read(a.key(host), &e.untilEntry, time.Now())
	if got := time.Duration(e.until.Load() - u); got > time.Millisecond {
		t.Fatalf("own end read back %v later than written", got)
	}

	ws := time.Now()
	later := ws.Add(2 * time.Minute)
	b.SetOpenUntil(host, later)
	settle(t, b) // the write runs in the background
	write := time.Since(ws)
	rs := time.Now()
	a.keys.read(a.key(host), &e.untilEntry, rs)
	read := time.Since(rs)
	// The key ends at later plus at most B's write latency (and a ms of
	// rounding up); A's read counts it from before it asked, so A's end
	// is earlier by at most its read latency (and a ms of rounding).
	lo, hi := -read-time.Millisecond, write+time.Millisecond
	if got := time.Duration(e.until.Load() - sysClock.Mono(later)); got < lo || got > hi {
		t.Fatalf("another replica's later end read %v off, want within [%v, %v] (measured)", got, lo, hi)
	}
}
