package fleet

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/securecall/securecall/internal/configerr"
	"github.com/securecall/securecall/signer"
)

// DefaultNonceClockMargin is NonceOptions.ClockMargin when zero.
const DefaultNonceClockMargin = 5 * time.Second

// NonceOptions configures a NonceStore. The zero value is the secure
// default: fail closed, 100 ms per Redis call.
type NonceOptions struct {
	// Prefix starts every key. Zero: DefaultPrefix. Keys are
	// Prefix + "nonce:" + a hash of the key id and nonce, so a nonce
	// cannot pick a Redis Cluster hash tag or make a long key.
	Prefix string
	// Timeout bounds each Redis call (it is also cut short by the
	// request's context). Zero: DefaultTimeout;
	// under a millisecond (no Redis call finishes in it): a *ConfigError.
	Timeout time.Duration
	// ProbeInterval: once a call has failed, Redis is marked down and only
	// one call per interval tries it again. Zero: DefaultProbeInterval. Under a millisecond
	// (every call of an outage would wait out the Timeout): a *ConfigError.
	ProbeInterval time.Duration
	// Policy while Redis is unavailable. PolicyDefault means FailClosed:
	// every Claim fails with ErrUnavailable and the verifier rejects the
	// request. FallBackLocal claims in Local instead; see NonceStore for
	// what that does and does not guarantee.
	Policy Policy
	// ClockMargin is added to every nonce key's life in Redis. The life
	// runs to the end of the signature's acceptance window on the
	// claiming replica's clock; a replica whose clock runs behind it
	// still accepts the signature a little longer, and would take a
	// replay once the key was gone. The margin covers replica clocks up
	// to that much apart, for as much more Redis memory (5 s on the 90 s
	// a signature made now is kept under a default Verifier, MaxAge +
	// ClockSkew: about 6 %). Zero: DefaultNonceClockMargin; negative:
	// none; under a millisecond (Redis's resolution: it would be
	// dropped), a *ConfigError. It is rounded up to whole milliseconds.
	ClockMargin time.Duration
	// MaxRetention bounds how far ahead of the claim's now a nonce is
	// held: a Claim whose until is later than now + MaxRetention is
	// refused with an error wrapping signer.ErrBeyondRetention, and no key
	// is set (a key's life is at most MaxRetention + ClockMargin). Zero:
	// signer.DefaultNonceMaxRetention (one hour); negative: a
	// *ConfigError. It must be at least two windows, 2 × (MaxAge + 2 ×
	// ClockSkew), of the signer.Verifier using the store (NewVerifier
	// checks).
	MaxRetention time.Duration
	// Local is the per-replica store used with FallBackLocal. Nil: a
	// signer.MemoryNonceStore of signer.DefaultNonceCapacity keeping
	// MaxRetention. Ignored with FailClosed. A store not made by its
	// constructor (a zero signer.MemoryNonceStore), or one whose
	// MaxRetention (signer.RetentionLimiter) is shorter than the
	// NonceStore's, or a nil pointer (a *signer.MemoryNonceStore never
	// assigned), is a *ConfigError naming Local.
	Local signer.NonceStore
	// MeterProvider creates MetricDegraded, MetricRedisErrors and
	// MetricPoolExhausted. Nil: the global provider.
	MeterProvider metric.MeterProvider
}

// NonceStore is a signer.NonceStore shared by every verifier replica
// through Redis: a claim is one SET key token NX PX ttl, where ttl runs to
// the end of the signature's acceptance window, so a nonce accepted by one
// replica is refused as a replay by all of them until its window ends.
// Redis expires the keys, NonceOptions.ClockMargin after the window ends
// on the claiming replica's clock (another replica's clock may run a
// little behind, and accept the signature that much longer). The token is unique
// to the claim (random, also across copies of one VM snapshot): when the
// SET finds the key, one GET tells a replay from the claim's own SET sent
// again by go-redis (MaxRetries) after its reply was lost. It is no
// signer.NonceChecker (a lookup would cost every request a Redis round
// trip): a replay's body is read before the claim refuses it.
//
// Every Redis call is bounded by Timeout. When one fails, the store marks
// Redis down and applies its Policy until a probe (one call per
// ProbeInterval) succeeds:
//
//   - FailClosed (default): Claim returns an *Error wrapping
//     ErrUnavailable (ErrPoolExhausted instead when the go-redis client's
//     pool had no free connection, which does not mark Redis down); the
//     verifier rejects the request with an error matching
//     signer.ErrUnavailable, which its Middleware answers 503 with
//     Retry-After: 1 (signer.DefaultErrorHandler and ErrorHandler alike).
//     No replay can get through; no request is accepted.
//   - FallBackLocal: Claim uses the replica's Local store. Replay
//     protection is then per replica only: a nonce is refused if THIS
//     replica accepted it within its window (before the outage too,
//     because with FallBackLocal every accepted nonce is also written to
//     Local), but a nonce accepted by another replica can be replayed
//     once against this one while Redis is down. Nonces accepted during
//     the outage are not copied to Redis afterwards, so until their window
//     ends they stay replayable once against the other replicas. A nonce
//     accepted through Redis while Local is full (a MemoryNonceStore at
//     capacity) is not remembered in Local either, so size Local for the
//     replica's rate × window.
//
// No caller's until makes a key live long: a claim whose until is further
// ahead than NonceOptions.MaxRetention is refused (signer.ErrBeyondRetention),
// not set with a shorter life, since its signature could be replayed once
// the key expired. A key holder whose signatures name a created far ahead
// therefore cannot grow Redis with keys that live longer, whatever
// verifier uses the store.
//
// The store is safe for concurrent use.
type NonceStore struct {
	c      redis.UniversalClient
	prefix string
	local  signer.NonceStore // nil with FailClosed
	h      *health

	margin time.Duration // NonceOptions.ClockMargin, resolved
	maxRet time.Duration // NonceOptions.MaxRetention, resolved
	id     string        // random, names this store in claim tokens
}

var _ signer.NonceStore = (*NonceStore)(nil)

// NewNonceStore returns a NonceStore on c, which the caller owns (and
// closes). A go-redis Client or ClusterClient must have
// ContextTimeoutEnabled set, or the store's Timeout could not bound its
// calls; the client's own MaxRetries still apply within that Timeout.
// Its PoolTimeout must be below the store's Timeout, or a claim that
// finds every pooled connection busy would count as a Redis outage. A
// *redis.Ring is refused: it drops a shard it finds down from its hash
// ring and sends that shard's keys to another one, each client on its
// own, so a nonce recorded on the lost shard would be accepted again (a
// replay) instead of the store failing closed. Bad options are a
// *ConfigError naming the field.
func NewNonceStore(c redis.UniversalClient, opts NonceOptions) (*NonceStore, error) {
	if err := checkClient(c); err != nil {
		return nil, err
	}
	if _, ok := c.(*redis.Ring); ok {
		return nil, configError("client", "a redis.Ring moves a down shard's keys to other shards, so a recorded nonce could be claimed again (a replay); use a redis.Client (one server, or Sentinel failover) or a redis.ClusterClient")
	}
	if err := configerr.Unconstructed("Local", opts.Local); err != nil {
		return nil, err
	}
	if opts.MaxRetention < 0 {
		return nil, configError("MaxRetention", "must not be negative")
	}
	if opts.ClockMargin > 0 && opts.ClockMargin < time.Millisecond {
		// Redis keeps a key's life in whole milliseconds: such a margin
		// would be dropped whole.
		return nil, configError("ClockMargin", fmt.Sprintf("%v is under a millisecond, Redis's resolution, and would be dropped (a unit left out?): at least 1ms, zero for the default (%v), or negative for none", opts.ClockMargin, DefaultNonceClockMargin))
	}
	if opts.MaxRetention == 0 {
		opts.MaxRetention = signer.DefaultNonceMaxRetention
	}
	if opts.Policy == PolicyDefault {
		opts.Policy = FailClosed
	}
	h, err := newHealth("nonce", opts.Policy, opts.Timeout, opts.ProbeInterval, opts.MeterProvider)
	if err != nil {
		return nil, err
	}
	if err := checkPoolTimeout(c, "nonce", h.timeout); err != nil {
		return nil, err
	}
	var id [12]byte
	_, _ = rand.Read(id[:]) // never fails (crypto/rand)
	s := &NonceStore{c: c, prefix: opts.Prefix, h: h, id: base64.RawURLEncoding.EncodeToString(id[:]) + ":", margin: max(opts.ClockMargin, 0), maxRet: opts.MaxRetention}
	if opts.ClockMargin == 0 {
		s.margin = DefaultNonceClockMargin
	}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if opts.Policy == FallBackLocal {
		s.local = opts.Local
		if s.local != nil {
			if configerr.IsNil(s.local) {
				// A *signer.MemoryNonceStore never assigned: an interface
				// holding a nil pointer is not nil.
				return nil, configError("Local", fmt.Sprintf("a nil %T (leave Local nil for a MemoryNonceStore of the store's own)", s.local))
			}
		}
		if s.local == nil {
			s.local, err = signer.NewMemoryNonceStoreWithOptions(signer.MemoryNonceOptions{MaxRetention: s.maxRet})
			if err != nil {
				return nil, err
			}
		} else if rl, ok := s.local.(signer.RetentionLimiter); ok && rl.MaxRetention() < s.maxRet {
			return nil, configError("Local", "its MaxRetention ("+rl.MaxRetention().String()+") is shorter than MaxRetention ("+s.maxRet.String()+"): during an outage it would refuse claims the store accepts")
		}
	}
	return s, nil
}

// Claim implements signer.NonceStore: nil when the nonce is new (it is now
// recorded until `until`, inclusive), an error wrapping signer.ErrReplay
// when it was recorded, and an *Error wrapping ErrUnavailable when Redis
// is unavailable under FailClosed (ErrPoolExhausted when the go-redis
// client's pool had no free connection). A ctx cancelled or past its
// deadline fails the claim with its error (context.DeadlineExceeded as is,
// even when go-redis reports the socket timeout made from that deadline
// first), and that claim does not mark Redis down; the store then checks
// Redis in the background with a write that changes nothing (SETRANGE of
// nothing on the nonce's key: a read would be answered by a Redis that
// holds back writes, CLIENT PAUSE WRITE as during a failover), on a context
// of its own bounded by Timeout (at most one such check in flight per
// store), and marks Redis down when that fails (but for a WRONGTYPE answer:
// the nonce's key holds another type's value, which is counted as a Redis
// error and reported to otel.Handle naming the key and the Prefix, Redis
// staying up). So a Redis that hangs is marked
// down once Timeout has passed even when every caller's deadline is
// shorter, and later claims fail fast under the Policy.
//
// A claim whose until is more than MaxRetention after now is refused with
// an error wrapping signer.ErrBeyondRetention, without a Redis call.
//
// A nonce whose key holds something else's value (another type under
// the store's Prefix: WRONGTYPE) fails that claim under the Policy, as
// Redis being unavailable does, counted as a Redis error, without marking
// Redis down for the other nonces. Its error (under FailClosed the
// *Error's cause; under FallBackLocal reported to otel.Handle) names the
// Prefix, never the key, and says to give the store a Prefix of its own.
//
// A zero NonceStore (not made by NewNonceStore) claims nothing: it
// returns a *ConfigError, so a Verifier using it fails closed.
func (s *NonceStore) Claim(ctx context.Context, keyID, nonce string, now, until time.Time) error {
	if s.h == nil {
		return zeroErr(errZeroNonceStore)
	}
	if left := until.Sub(now); left > s.maxRet {
		// Not held for less: its signature would be replayable once the
		// key expired.
		return fmt.Errorf("fleet: nonce claim: %w: held until %v ahead, MaxRetention %v", signer.ErrBeyondRetention, left, s.maxRet)
	}
	ttl := nonceTTL(until.Sub(now), s.margin)
	err := error(&Error{Store: "nonce", Op: "claim"})
	if s.h.try(s.h.clk.Now()) {
		cctx, cancel := s.h.ctx(ctx)
		var set bool
		key := s.key(keyID, nonce)
		set, err = s.setNX(cctx, key, ttl)
		cancel()
		var gave error
		if err != nil {
			gave = gaveUp(ctx, cctx)
		}
		switch {
		case err == nil:
			s.h.ok()
			if !set {
				return signer.ErrReplay
			}
			if s.local != nil {
				// Written through so that this replica still knows its
				// own nonces during an outage; and a nonce it accepted
				// locally during one stays refused here.
				if lerr := s.local.Claim(ctx, keyID, nonce, now, until); errors.Is(lerr, signer.ErrReplay) {
					return lerr
				}
			}
			return nil
		case gave != nil:
			// The caller gave up: not Redis's fault, or not known to
			// be. Redis is judged by the store's own Timeout in the
			// background, or a hung Redis would never be marked down
			// while every caller's deadline is shorter than Timeout.
			s.h.watch(func(ctx context.Context) error { return s.c.SetRange(ctx, key, 0, "").Err() },
				func(err error) error {
					// The key is a hash (key): it tells no key id or nonce.
					return fmt.Errorf("fleet: nonce store: key %q holds another type's value: another application's key under the store's Prefix %q? give the store a Prefix of its own: %w", key, s.prefix, err)
				})
			return gave
		case keyFault(err):
			// Redis answered: the fault is the value under this
			// nonce's key (something else's under the prefix, WRONGTYPE
			// to the GET), not Redis. This claim gets the Policy (the
			// nonce cannot be recorded, so it is never accepted as
			// new); Redis stays up for every other nonce.
			// The error names the Prefix, never the key; under
			// FallBackLocal, where the caller gets the local store's
			// answer, it goes to otel.Handle.
			s.h.keyFailed()
			kc := &keyCollision{prefix: s.prefix, err: err}
			err = &Error{Store: "nonce", Op: "claim", Err: kc}
			if s.local != nil {
				otel.Handle(fmt.Errorf("fleet: nonce claim made in the local store: %w", kc))
			}
		default:
			s.h.failed(s.h.clk.Now(), err)
			err = &Error{Store: "nonce", Op: "claim", Err: s.h.cause(cctx, err)}
		}
	}
	s.h.event(ctx)
	if s.local != nil {
		return s.local.Claim(ctx, keyID, nonce, now, until)
	}
	return err
}

// nonceTTL is the life of a nonce key whose window has left to run: until
// its end inclusive, in whole milliseconds rounded up, and margin longer,
// rounded up to whole milliseconds too (go-redis sends PX as the Duration
// truncated to milliseconds, which would drop a fraction of the margin);
// at least 1 ms, so a nonce already outside its window is still checked.
// The sum saturates below math.MaxInt64 (whole milliseconds: Redis's PX):
// a window as long as a time.Duration holds (the verifier allows one) must
// not wrap round to a short life (its nonce replayable once the key
// expired) or a negative one (refused by Redis, marking it down).
func nonceTTL(left, margin time.Duration) time.Duration {
	const most = time.Duration(math.MaxInt64) / time.Millisecond * time.Millisecond
	ttl := time.Millisecond
	if left > 0 {
		ttl = min(left.Truncate(time.Millisecond), most-time.Millisecond) + time.Millisecond
	}
	if margin > most-ttl {
		return most
	}
	if f := margin % time.Millisecond; f != 0 {
		margin += time.Millisecond - f // margin < most-ttl, both whole ms
	}
	return ttl + margin
}

// setNX claims key for ttl: true when this claim set it. The value is a
// token unique to the claim, so that when go-redis sent the SET again
// after losing its reply (a dropped connection: the SET was applied), the
// key it finds is recognised as this claim's own and not taken for a
// replay, which would refuse a genuine request. A GET is made only when
// the key exists.
//
// The token is read from crypto/rand for each claim, not counted: two
// copies of one VM snapshot taken after NewNonceStore (a restored image,
// SnapStart) hold the same id and the same count, so a replay sent to one
// copy could carry the very token the other copy's claim wrote, and be
// taken for its own retried SET (accepted). crypto/rand's getrandom path
// is safe against snapshots, as for the signer's nonces.
func (s *NonceStore) setNX(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	var r [16]byte
	_, _ = rand.Read(r[:]) // never fails (crypto/rand)
	token := s.id + base64.RawURLEncoding.EncodeToString(r[:])
	set, err := s.c.SetNX(ctx, key, token, ttl).Result()
	if err != nil || set {
		return set, err
	}
	s.h.calls.Add(1)
	got, err := s.c.Get(ctx, key).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil // gone already: expired (it was seen)
	case err != nil:
		return false, err
	}
	return got == token, nil
}

// MaxRetention returns how far ahead of a claim's now the store holds a
// nonce at most (NonceOptions.MaxRetention; 0 for a zero store). It makes
// the store a signer.RetentionLimiter, checked by signer.NewVerifier.
func (s *NonceStore) MaxRetention() time.Duration { return s.maxRet }

// Stats returns the store's Redis call counts and whether Redis is marked
// down.
func (s *NonceStore) Stats() Stats { return s.h.stats() }

// key returns the pair's key: Prefix + "nonce:" + the unpadded base64url
// SHA-256 of keyID NUL nonce (fleet.md), or, when either holds a NUL (a
// custom verifier's: signer.Verifier's are structured-field strings,
// which hold none), of two NULs, the length of keyID (8 bytes,
// big-endian), keyID and nonce. The first input holds one NUL, the second
// starts with two, so no two pairs share a key, and the keys of pairs
// without a NUL are those of before; joined by a NUL alone, ("a\x00b",
// "c") was ("a", "b\x00c"), refused as its replay.
func (s *NonceStore) key(keyID, nonce string) string {
	h := sha256.New()
	if strings.IndexByte(keyID, 0) < 0 && strings.IndexByte(nonce, 0) < 0 {
		h.Write([]byte(keyID))
		h.Write([]byte{0})
	} else {
		h.Write(binary.BigEndian.AppendUint64([]byte{0, 0}, uint64(len(keyID))))
		h.Write([]byte(keyID))
	}
	h.Write([]byte(nonce))
	var sum [sha256.Size]byte
	return s.prefix + "nonce:" + base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0]))
}

// ErrorHandler is a signer.VerifierOptions.ErrorHandler for verifiers on
// a fail-closed NonceStore: a request refused because Redis is unavailable
// (ErrUnavailable) or the go-redis client's pool had no free connection
// (ErrPoolExhausted) gets 503 Service Unavailable with Retry-After: 1
// (the client may try again; its signature was not judged), every other
// failure gets signer.DefaultErrorHandler's answer. The verifier reports
// such a failure as signer.ErrUnavailable, which DefaultErrorHandler
// answers the same way, so either handler does.
func ErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrPoolExhausted) {
		w.Header().Set("Retry-After", "1")
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		return
	}
	signer.DefaultErrorHandler(w, r, err)
}
