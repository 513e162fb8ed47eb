package signer

import (
	"container/heap"
	"context"
	"math"
	"sync"
	"time"
)

// NonceStore remembers the nonces of accepted signatures so a verifier can
// refuse a replay. Implementations must be safe for concurrent use; a
// fleet of verifiers shares one (a Redis SET NX with an expiry fits).
type NonceStore interface {
	// Claim records that nonce was used with keyID and must be refused
	// up to and including `until` (the last moment the signature is
	// acceptable anyway). now is the verifier's current time. Claim returns nil when
	// the pair was not recorded (it is now), an error wrapping ErrReplay
	// when it was recorded and has not expired, and another error (such as
	// ErrNonceStoreFull) when it cannot record it; the verifier then
	// rejects the request: a store that cannot remember fails closed.
	Claim(ctx context.Context, keyID, nonce string, now, until time.Time) error
}

// DefaultNonceCapacity is the number of nonces a MemoryNonceStore holds
// when created with capacity 0. An entry costs about 100 bytes plus the
// key id and nonce, so the default bounds the store near 15 MB. With the
// default verifier window (a nonce is kept for at most MaxAge + 2×ClockSkew,
// two minutes) it sustains about 800 signed requests per second; size it
// as rate × window.
const DefaultNonceCapacity = 100_000

// MemoryNonceStore is an in-process NonceStore with bounded memory. Each
// entry expires after its `until`; expired entries are dropped on every
// Claim. When the store holds capacity unexpired entries, Claim refuses
// new nonces with ErrNonceStoreFull until entries expire: it never evicts
// a live nonce, since forgetting one would let its signature be replayed.
// A flood of validly signed requests (only signatures that verify reach
// the store) therefore costs availability, never replay safety, and never
// more than capacity entries of memory.
type MemoryNonceStore struct {
	mu       sync.Mutex
	capacity int
	seen     map[string]int64 // key -> until (Unix nanoseconds)
	byExpiry nonceHeap
}

// NewMemoryNonceStore returns a store holding at most capacity unexpired
// nonces; capacity <= 0 means DefaultNonceCapacity.
func NewMemoryNonceStore(capacity int) *MemoryNonceStore {
	if capacity <= 0 {
		capacity = DefaultNonceCapacity
	}
	return &MemoryNonceStore{capacity: capacity, seen: make(map[string]int64)}
}

// Claim implements NonceStore.
func (s *MemoryNonceStore) Claim(_ context.Context, keyID, nonce string, now, until time.Time) error {
	k := keyID + "\x00" + nonce
	nowN, untilN := unixNano(now), unixNano(until)
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.byExpiry) > 0 && s.byExpiry[0].until < nowN {
		e := heap.Pop(&s.byExpiry).(nonceEntry)
		delete(s.seen, e.key)
	}
	if _, ok := s.seen[k]; ok {
		return ErrReplay
	}
	if untilN < nowN {
		// Already outside its window: nothing to remember.
		return nil
	}
	if len(s.seen) >= s.capacity {
		return ErrNonceStoreFull
	}
	s.seen[k] = untilN
	heap.Push(&s.byExpiry, nonceEntry{key: k, until: untilN})
	return nil
}

// unixNano is t.UnixNano, saturated outside the years 1678 to 2262 that an
// int64 of nanoseconds covers (UnixNano's result is undefined there): an
// until beyond 2262 must stay later than now, not wrap to before it.
func unixNano(t time.Time) int64 {
	switch {
	case t.After(maxUnixNano):
		return math.MaxInt64
	case t.Before(minUnixNano):
		return math.MinInt64
	}
	return t.UnixNano()
}

var (
	maxUnixNano = time.Unix(0, math.MaxInt64)
	minUnixNano = time.Unix(0, math.MinInt64)
)

// Len returns the number of nonces held, expired ones not yet dropped
// included.
func (s *MemoryNonceStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

type nonceEntry struct {
	key   string
	until int64
}

type nonceHeap []nonceEntry

func (h nonceHeap) Len() int           { return len(h) }
func (h nonceHeap) Less(i, j int) bool { return h[i].until < h[j].until }
func (h nonceHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *nonceHeap) Push(x any)        { *h = append(*h, x.(nonceEntry)) }
func (h *nonceHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nonceEntry{}
	*h = old[:len(old)-1]
	return e
}
