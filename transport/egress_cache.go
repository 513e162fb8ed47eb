package transport

import (
	"strings"
	"sync"
	"sync/atomic"
)

// egressHostCacheMax bounds the raw host names an EgressPolicy remembers
// its per-host findings for. Once it holds that many, further names are
// worked out on every call, as without the cache: a caller whose URLs come
// from its users (webhooks) cannot grow it, and the names it holds keep
// their fast path.
const egressHostCacheMax = 256

// egressHost is what an EgressPolicy finds out about one raw host name
// (as URL.Hostname returns it, or a Host header's name): everything in it
// depends only on that string and the policy's immutable allowlist, never
// on DNS, the scheme or the port, so remembering it changes no decision.
type egressHost struct {
	origin string       // originHost(raw), its zone as written: the host OriginOf puts in an Origin
	valid  bool         // hostOf(raw) succeeded: a name or address the allowlist can match
	rules  []egressRule // the exact rules of the host, then the wildcard rules covering it
}

// egressHostCache maps raw host names to their *egressHost. Reads load one
// pointer and look up a map, without a lock or an allocation; an insertion
// copies the map under mu (at most egressHostCacheMax times per policy).
type egressHostCache struct {
	m  atomic.Pointer[map[string]*egressHost]
	mu sync.Mutex
}

// hostInfo returns the findings for raw, from the cache when it has them.
func (p *EgressPolicy) hostInfo(raw string) *egressHost {
	if m := p.hosts.m.Load(); m != nil {
		if h := (*m)[raw]; h != nil {
			return h
		}
	}
	h := p.lookupHost(raw)
	if len(raw) <= maxIDNLen {
		p.hosts.add(raw, h)
	}
	return h
}

// lookupHost works out the findings for raw, without the cache.
func (p *EgressPolicy) lookupHost(raw string) *egressHost {
	h := &egressHost{}
	h.origin, _ = originHost(raw)
	h.origin = zoneAsWritten(raw, h.origin)
	host, ok := hostOf(raw)
	if !ok {
		return h
	}
	h.valid = true
	if p.any {
		return h
	}
	h.rules = p.exact[host]
	for _, r := range p.wild {
		if len(host) > len(r.suffix) && strings.HasSuffix(host, r.suffix) {
			h.rules = append(h.rules[:len(h.rules):len(h.rules)], r) // never into p.exact's array
		}
	}
	return h
}

// add remembers h for raw unless the cache is full. h must not be shared
// yet: its origin is replaced by a copy.
func (c *egressHostCache) add(raw string, h *egressHost) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var old map[string]*egressHost
	if m := c.m.Load(); m != nil {
		old = *m
	}
	if len(old) >= egressHostCacheMax || old[raw] != nil {
		return
	}
	m := make(map[string]*egressHost, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	// raw, and h.origin (originHost returns a lower-case ASCII name as a
	// slice of its input), may be slices of a much longer URL: the cache
	// keeps copies, never the URL.
	k := strings.Clone(raw)
	if h.origin == raw {
		h.origin = k
	} else {
		h.origin = strings.Clone(h.origin)
	}
	m[k] = h
	c.m.Store(&m)
}

// len returns the number of host names cached.
func (c *egressHostCache) len() int {
	if m := c.m.Load(); m != nil {
		return len(*m)
	}
	return 0
}
