package signer

import (
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/securecall/securecall/internal/monoclock"
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
// two minutes, while the wall clock does not step and no other signature
// of a request has a created ahead of it by more than ClockSkew) it sustains about 800 signed requests per second; size it
// as rate × window.
const DefaultNonceCapacity = 100_000

// DefaultNonceMaxRetention is how far ahead a MemoryNonceStore (and a
// fleet.NonceStore) holds a nonce at most when its MaxRetention is zero:
// an hour, fifteen times the two verifier windows (2 × (MaxAge + 2 ×
// ClockSkew), four minutes) a Verifier with the default window claims
// ahead at most. A claim whose until is further ahead is refused with
// ErrBeyondRetention.
const DefaultNonceMaxRetention = time.Hour

// MemoryNonceOptions configures a MemoryNonceStore
// (NewMemoryNonceStoreWithOptions). The zero value is the default.
type MemoryNonceOptions struct {
	// Capacity is the most unexpired nonces held. Zero:
	// DefaultNonceCapacity; negative: a *ConfigError.
	Capacity int
	// MaxRetention bounds how far ahead of the claim's now a nonce is
	// held: a Claim whose until is later than now + MaxRetention is
	// refused with ErrBeyondRetention and records nothing. Zero:
	// DefaultNonceMaxRetention; negative: a *ConfigError. It must be at
	// least two windows, 2 × (MaxAge + 2 × ClockSkew), of the Verifier
	// using the store (NewVerifier checks).
	MaxRetention time.Duration
}

// MemoryNonceStore is an in-process NonceStore with bounded memory. Each
// entry expires once its `until` has passed on the wall clock and as long
// as the window had left at the Claim (until - now) has passed on the
// monotonic clock (when now has a monotonic reading, as time.Now's do),
// so a step of the wall clock never ends it early: a Claim made while the
// wall clock is ahead does not drop the nonces whose signatures are
// acceptable again once it is set back, and one whose wall clock is set
// back keeps them until their until comes round again. Expired entries
// are dropped on every Claim. When the store holds capacity unexpired entries, Claim refuses
// new nonces with ErrNonceStoreFull until entries expire: it never evicts
// a live nonce, since forgetting one would let its signature be replayed.
// A flood of validly signed requests (only signatures that verify reach
// the store) therefore costs availability, never replay safety, and never
// more than capacity entries of memory.
//
// No caller's until makes an entry live long: a Claim whose until is
// further ahead than MaxRetention is refused with ErrBeyondRetention, not
// held for a shorter time, since its signature could be replayed once the
// entry was dropped (a Verifier then refuses the request). A key holder
// whose signatures name a created far ahead therefore cannot fill the
// store for longer than MaxRetention, whatever verifier uses it.
//
// It remembers only for the life of the process: after a restart it is
// empty, and a request accepted within one verifier window (MaxAge + 2 ×
// ClockSkew) before the restart is accepted again if replayed within that
// window. Use a store that outlives the process where that matters.
type MemoryNonceStore struct {
	mu       sync.Mutex
	capacity int
	maxRet   time.Duration             // MaxRetention
	seen     map[string]int64          // key -> until (Unix nanoseconds)
	byExpiry nonceHeap                 // by end
	ticks    func(now time.Time) int64 // monoclock.Ticks; tests step the wall clock
}

// NewMemoryNonceStore returns a store holding at most capacity unexpired
// nonces, each at most DefaultNonceMaxRetention ahead; capacity <= 0
// means DefaultNonceCapacity. NewMemoryNonceStoreWithOptions sets the
// retention.
func NewMemoryNonceStore(capacity int) *MemoryNonceStore {
	if capacity <= 0 {
		capacity = DefaultNonceCapacity
	}
	return newMemoryNonceStore(capacity, DefaultNonceMaxRetention)
}

// NewMemoryNonceStoreWithOptions returns a store configured by opts. Bad
// options are a *ConfigError naming the field.
func NewMemoryNonceStoreWithOptions(opts MemoryNonceOptions) (*MemoryNonceStore, error) {
	switch {
	case opts.Capacity < 0:
		return nil, &ConfigError{Option: "MemoryNonceOptions.Capacity", Reason: "must not be negative"}
	case opts.MaxRetention < 0:
		return nil, &ConfigError{Option: "MemoryNonceOptions.MaxRetention", Reason: "must not be negative"}
	}
	if opts.Capacity == 0 {
		opts.Capacity = DefaultNonceCapacity
	}
	if opts.MaxRetention == 0 {
		opts.MaxRetention = DefaultNonceMaxRetention
	}
	return newMemoryNonceStore(opts.Capacity, opts.MaxRetention), nil
}

func newMemoryNonceStore(capacity int, maxRet time.Duration) *MemoryNonceStore {
	return &MemoryNonceStore{capacity: capacity, maxRet: maxRet, seen: make(map[string]int64), ticks: monoclock.Ticks}
}

// MaxRetention returns how far ahead of a claim's now the store holds a
// nonce at most (0 for a zero store, which holds none).
func (s *MemoryNonceStore) MaxRetention() time.Duration { return s.maxRet }

// RetentionLimiter is implemented by a NonceStore that refuses to hold a
// nonce further ahead than MaxRetention (with ErrBeyondRetention), as
// MemoryNonceStore and fleet.NonceStore do. NewVerifier refuses such a
// store whose MaxRetention is shorter than two of its windows, 2 × (MaxAge
// + 2 × ClockSkew), the furthest ahead it claims.
type RetentionLimiter interface {
	MaxRetention() time.Duration
}

// NonceChecker is implemented by a NonceStore that can tell, recording
// nothing, whether a (keyID, nonce) pair is held, as MemoryNonceStore
// does. A Verifier on such a store looks a nonce up once the signature
// has verified and before it reads the body to check Content-Digest, so a
// replay is refused without its body being read (at most MaxBodySize a
// copy); on a store that is not a NonceChecker the replay is refused by
// the claim, after the body is read. The nonce is still recorded only by
// Claim, once the body has been checked: a request whose signature does
// not verify, or whose body does not match its digest, records nothing.
type NonceChecker interface {
	// Seen reports whether the pair is held as of now: true only when a
	// Claim with the same now would return ErrReplay. An error (a store
	// that cannot be asked) makes the verifier go on as for a store that
	// is not a NonceChecker: the claim decides.
	Seen(ctx context.Context, keyID, nonce string, now time.Time) (bool, error)
}

// Seen implements NonceChecker: whether the pair was claimed and its
// until has not passed by now (a pair held on past its until, the wall
// clock set back, is not reported; its Claim still refuses it). It
// records nothing. A zero MemoryNonceStore returns a *ConfigError.
func (s *MemoryNonceStore) Seen(_ context.Context, keyID, nonce string, now time.Time) (bool, error) {
	if s.ticks == nil {
		return false, zeroErr(errZeroNonceStore)
	}
	var buf [256]byte
	k := appendNonceKey(buf[:0], keyID, nonce)
	nowN := unixNano(now)
	s.mu.Lock()
	until, ok := s.seen[string(k)]
	s.mu.Unlock()
	return ok && until >= nowN, nil
}

// appendNonceKey appends the store's key of the pair to dst: keyID NUL
// nonce, or, when either holds a NUL (a custom verifier's: a
// structured-field string holds none), two NULs, the length of keyID (8
// bytes, big-endian), keyID and nonce. The first form holds one NUL, the
// second starts with two, so no two pairs share a key; joined by a NUL
// alone, ("a\x00b", "c") was ("a", "b\x00c").
func appendNonceKey(dst []byte, keyID, nonce string) []byte {
	if strings.IndexByte(keyID, 0) < 0 && strings.IndexByte(nonce, 0) < 0 {
		dst = append(dst, keyID...)
		dst = append(dst, 0)
		return append(dst, nonce...)
	}
	dst = append(dst, 0, 0)
	dst = binary.BigEndian.AppendUint64(dst, uint64(len(keyID)))
	dst = append(dst, keyID...)
	return append(dst, nonce...)
}

// Claim implements NonceStore.
// A zero MemoryNonceStore (not made by NewMemoryNonceStore) claims
// nothing: it returns a *ConfigError, so a Verifier using it fails closed.
func (s *MemoryNonceStore) Claim(_ context.Context, keyID, nonce string, now, until time.Time) error {
	if s.ticks == nil {
		return zeroErr(errZeroNonceStore)
	}
	var buf [256]byte
	k := string(appendNonceKey(buf[:0], keyID, nonce))
	nowN, untilN := unixNano(now), unixNano(until)
	nowT := s.ticks(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.byExpiry) > 0 && s.byExpiry[0].end < nowT {
		if e := &s.byExpiry[0]; e.until >= nowN {
			// Over on the monotonic clock but not on the wall clock,
			// which was set back: its signature is acceptable again
			// until its until, so it is kept that long from now.
			e.end = addTicks(nowT, time.Unix(0, e.until).Sub(now))
			heap.Fix(&s.byExpiry, 0)
			continue
		}
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
	if left := until.Sub(now); left > s.maxRet {
		// Not held for less: its signature would be replayable once the
		// entry was dropped.
		return fmt.Errorf("%w: held until %v ahead, MaxRetention %v", ErrBeyondRetention, left, s.maxRet)
	}
	if len(s.seen) >= s.capacity {
		return ErrNonceStoreFull
	}
	s.seen[k] = untilN
	heap.Push(&s.byExpiry, nonceEntry{key: k, until: untilN, end: addTicks(nowT, until.Sub(now))})
	return nil
}

// addTicks returns the ticks d >= 0 after n, saturating.
func addTicks(n int64, d time.Duration) int64 {
	if n > math.MaxInt64-int64(d) {
		return math.MaxInt64
	}
	return n + int64(d)
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
	if s.ticks == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

type nonceEntry struct {
	key   string
	until int64 // Unix nanoseconds
	end   int64 // ticks (monoclock) at which the window ends, as of the last check
}

type nonceHeap []nonceEntry

func (h nonceHeap) Len() int           { return len(h) }
func (h nonceHeap) Less(i, j int) bool { return h[i].end < h[j].end }
func (h nonceHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *nonceHeap) Push(x any)        { *h = append(*h, x.(nonceEntry)) }
func (h *nonceHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nonceEntry{}
	*h = old[:len(old)-1]
	return e
}
