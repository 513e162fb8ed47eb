package fleet

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/securecall/securecall/transport"
)

// The cooldown and breaker stores share one shape: per host, an end time
// ("cooldown until", "open until") kept in Redis as a key whose remaining
// TTL is the end, and cached in this process. This file holds that shape.

// untilOptions are the options the cooldown and breaker stores share.
type untilOptions struct {
	prefix   string
	refresh  time.Duration
	maxHosts int
}

// resolve checks o and fills in the defaults.
func (o untilOptions) resolve() (untilOptions, error) {
	switch {
	case o.refresh < 0:
		return o, configError("RefreshInterval", "must not be negative")
	case o.maxHosts < 0:
		return o, configError("MaxHosts", "must not be negative")
	}
	if o.prefix == "" {
		o.prefix = DefaultPrefix
	}
	if o.refresh == 0 {
		o.refresh = DefaultRefreshInterval
	}
	if o.maxHosts == 0 {
		o.maxHosts = transport.DefaultMaxHosts
	}
	return o, nil
}

// untilEntry is one host's cached end. Its times are ticks (clock.go): a
// step of the wall clock neither stretches nor shortens them.
type untilEntry struct {
	until      atomic.Int64 // ticks; 0: none
	fetched    atomic.Int64 // when Redis was last read or written for it (ticks)
	refreshing atomic.Bool  // a read is running
	// echo is the latest end a read can give back for this replica's own
	// last write: Redis starts a key's expiry when the write arrives, so
	// the end it holds is the written end plus the write's latency (and
	// up to a millisecond of rounding on each side). A read no later than
	// echo is this replica's own end, not a later one from another replica
	// (the breaker layer would report its own open state as shared).
	echo atomic.Int64
	// unsynced is this replica's own latest end (SetCooldown,
	// SetOpenUntil) that Redis has not acknowledged yet: its write failed
	// or was not tried (Redis marked down). Only such an end is ever
	// written back by a read; an end Redis has acknowledged, or one read
	// from Redis, is not, so a key deleted in Redis (an operator putting
	// the host back into service) stays deleted.
	unsynced atomic.Int64
	// gen changes whenever this replica sets an end or Redis acknowledges
	// a write: a read that began before such a change must not drop or
	// shorten the cached end with its older answer.
	gen atomic.Uint64
}

// setOwn records u (ticks, in the future) as this replica's own end: the
// cache takes it at once, and it stays unsynced until Redis acknowledges
// a write of it (or of a later end).
func (e *untilEntry) setOwn(u int64) {
	extend(&e.until, u)
	extend(&e.unsynced, u)
	e.gen.Add(1)
}

// synced records that Redis holds an end no earlier than u (ticks): an
// unsynced own end up to u is written.
func (e *untilEntry) synced(u int64) {
	for {
		old := e.unsynced.Load()
		if old == 0 || old > u || e.unsynced.CompareAndSwap(old, 0) {
			return
		}
	}
}

// stale reports whether e was last fetched refresh or more before now
// (ticks) and, if so, claims the refresh: only one caller gets true until
// the refresh ends (refreshing is set false). Fetched is read again once
// the claim is held: a refresh can end between the first check and the
// claim (the caller preempted there, on a loaded machine), and claiming
// on the strength of the older fetched would read Redis again at once,
// inside RefreshInterval. A refresh stores fetched before it gives up
// the claim, so the second read sees it.
func (e *untilEntry) stale(now int64, refresh time.Duration) bool {
	if now-e.fetched.Load() < int64(refresh) {
		return false
	}
	if testHookStaleClaim != nil {
		testHookStaleClaim()
	}
	if !e.refreshing.CompareAndSwap(false, true) {
		return false
	}
	if now-e.fetched.Load() < int64(refresh) {
		e.refreshing.Store(false)
		return false
	}
	return true
}

// testHookStaleClaim, when set by a test, runs in stale between the
// check of fetched and the claim of the refresh, where a refresh under
// way can end.
var testHookStaleClaim func()

// extendScript sets the key to expire in ARGV[1] ms unless it already
// expires later, and returns the resulting remaining time in ms.
var extendScript = redis.NewScript(`
local want = tonumber(ARGV[1])
local cur = redis.call('PTTL', KEYS[1])
if cur < want then
  redis.call('SET', KEYS[1], '1', 'PX', want)
  return want
end
return cur
`)

// untilKeys reads and writes the keys of one store.
type untilKeys struct {
	c redis.UniversalClient
	h *health
}

// read refreshes e from key's remaining TTL (one Redis call, at most the
// store's Timeout). Redis is the source of truth: the cache follows it,
// down as well as up, except for an own end that Redis has not
// acknowledged (unsynced: set during an outage, or its write failed),
// which this read writes back when Redis does not hold it. An end that
// was written, or read from Redis, is never written again, so a key
// deleted in Redis is dropped from every replica's cache at its next
// read instead of being put back; the same holds for a key lost with a
// restarted Redis (losing Redis data loses the current ends).
//
// Redis answered at some moment between now and after (when the answer
// arrived), so the key's end on this replica's clock is between now+PTTL
// and after+PTTL. The cache takes the earlier bound when it extends and
// the later bound when it shortens (so read latency never makes a shared
// end look shorter than it is); an own end is written back only when it
// is later than the later bound (more than a millisecond, Redis's
// resolution), so read latency never pushes a shared end later than
// anyone set it. An end no later than this replica's own last write plus
// that write's latency (echo) is that write read back, and leaves the
// cache as it is.
func (k untilKeys) read(key string, e *untilEntry, now time.Time) {
	gen := e.gen.Load()
	ctx, cancel := k.h.ctx(context.Background())
	// In milliseconds, as Redis answers: go-redis's PTTL Duration wraps
	// round past 292 years.
	ms, err := k.c.Do(ctx, "PTTL", key).Int64()
	cancel()
	after := k.h.clk.Now()
	if err != nil {
		k.h.failed(after, err)
		return
	}
	k.h.ok()
	n, a := k.h.clk.Mono(now), k.h.clk.Mono(after)
	e.fetched.Store(n)
	latest := int64(0) // the key's end, its later bound; 0: no key
	if ms > 0 {        // -2: no key, -1: no TTL
		pttl := msDuration(ms)
		if end := addTicks(n, pttl); end > e.echo.Load() {
			extend(&e.until, end)
		}
		latest = addTicks(a, pttl)
	}
	if own := e.unsynced.Load(); own != 0 {
		if own > a && own-latest > int64(time.Millisecond) {
			k.write(key, e, own, after)
			return
		}
		// Redis holds it already (another replica's later end), or it
		// has ended: nothing to write back.
		if e.unsynced.CompareAndSwap(own, 0) {
			e.gen.Add(1)
		}
		return
	}
	// The cache follows Redis: a cached end that Redis no longer holds
	// (the key was deleted, lost, or holds an earlier end) is dropped or
	// shortened, unless the entry changed since the read began.
	// Once shortened, no end Redis gives back is this replica's own old
	// write any more (echo): a later one from another replica counts.
	if cur := e.until.Load(); cur-latest > int64(time.Millisecond) && e.gen.Load() == gen &&
		e.until.CompareAndSwap(cur, latest) {
		e.echo.Store(0)
	}
}

// write extends key to u (ticks; one Redis call) and caches the end
// Redis answers with, which may be later. Once Redis has acknowledged it,
// u is no longer unsynced.
func (k untilKeys) write(key string, e *untilEntry, u int64, now time.Time) {
	n := k.h.clk.Mono(now)
	ms := (time.Duration(u-n) + time.Millisecond - 1) / time.Millisecond
	ctx, cancel := k.h.ctx(context.Background())
	got, err := extendScript.Run(ctx, k.c, []string{key}, int64(ms)).Int64()
	cancel()
	done := k.h.clk.Now()
	if err != nil {
		k.h.failed(done, err)
		return
	}
	k.h.ok()
	e.fetched.Store(n)
	switch {
	case got == int64(ms): // this write set the key's end
		extend(&e.echo, addTicks(u, time.Duration(k.h.clk.Mono(done)-n)+2*time.Millisecond))
		// The end is u itself: n + ms is u rounded up to a millisecond
		// (Redis's PX), which would move this replica's own view past
		// the end it was given.
		extend(&e.until, u)
	case got > 0: // another replica's later end
		extend(&e.until, addTicks(n, msDuration(got)))
	}
	e.synced(u)
	e.gen.Add(1)
}

// msDuration returns ms milliseconds (positive), saturated at the largest
// Duration: a key's remaining life of centuries (an operator's "for
// good", or a Redis-compatible server's answer) is a far end, not one
// wrapped round into the past.
func msDuration(ms int64) time.Duration {
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64
	}
	return time.Duration(ms) * time.Millisecond
}

// addTicks returns u (ticks) plus d (not negative), saturated at the
// largest tick, as the clock's After saturates.
func addTicks(u int64, d time.Duration) int64 {
	if int64(d) > math.MaxInt64-u {
		return math.MaxInt64
	}
	return u + int64(d)
}

// extend moves *a to u if u is later.
func extend(a *atomic.Int64, u int64) {
	for {
		old := a.Load()
		if u <= old || a.CompareAndSwap(old, u) {
			return
		}
	}
}

// hostMap is a bounded host → entry map whose reads take no lock: the map
// is replaced on insertion (copy on write), never changed in place.
type hostMap[E any] struct {
	m   atomic.Pointer[map[string]*E]
	mu  sync.Mutex // serialises copies
	max int
	// end tells until when an entry matters (ticks): at or before now, it
	// may be dropped (its end has passed).
	end func(e *E) int64
}

// get returns host's entry, creating it. When the map is full, the entries
// whose end has passed go first, then the one that ends soonest (a cooldown
// or open state about to end rather than one with minutes to run): an
// evicted host is read from Redis again on next use. now is in ticks.
func (hm *hostMap[E]) get(host string, now int64) *E {
	if m := hm.m.Load(); m != nil {
		if e, ok := (*m)[host]; ok {
			return e
		}
	}
	hm.mu.Lock()
	defer hm.mu.Unlock()
	var old map[string]*E
	if m := hm.m.Load(); m != nil {
		old = *m
		if e, ok := old[host]; ok {
			return e
		}
	}
	m := make(map[string]*E, min(len(old)+1, hm.max))
	for h, e := range old {
		if len(old) >= hm.max && hm.end(e) <= now {
			continue
		}
		m[h] = e
	}
	for len(m) > 0 && len(m) >= hm.max {
		var victim string
		soonest, found := int64(math.MaxInt64), false
		for h, e := range m {
			if u := hm.end(e); !found || u < soonest {
				victim, soonest, found = h, u, true
			}
		}
		delete(m, victim)
	}
	e := new(E)
	m[host] = e
	hm.m.Store(&m)
	return e
}

// len returns the number of entries.
func (hm *hostMap[E]) len() int {
	if m := hm.m.Load(); m != nil {
		return len(*m)
	}
	return 0
}
