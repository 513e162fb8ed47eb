package fleet

import (
	"errors"

	"github.com/securecall/securecall/internal/configerr"
	"github.com/securecall/securecall/transport"
)

// ErrUnavailable reports that Redis could not be used for a call: it
// failed, did not answer within the store's Timeout, or is marked down and
// the next probe is not due yet. Stores return it (inside an *Error) only
// under the FailClosed policy; under FallBackLocal they answer from local
// state instead.
var ErrUnavailable = errors.New("fleet: redis unavailable")

// Error reports a store call that Redis could not serve. It wraps
// ErrUnavailable (ErrPoolExhausted when the client's connection pool had
// no free connection) and, when there was one, the cause (a go-redis error,
// context.DeadlineExceeded for a call cut by the store's Timeout; for a
// call Redis refused for the value its key holds, another application's
// data under a Prefix shared with it, an error naming the Prefix and
// saying to give the store one of its own, wrapping Redis's WRONGTYPE or
// script error). It never carries the key, so no key id or nonce reaches
// logs.
type Error struct {
	// Store is the store that failed: "nonce" (the NonceStore) or
	// "lease" (the Quota). The cooldown and breaker stores return no
	// error: under FailClosed the CooldownStore reports every host as
	// cooling down instead, and the BreakerStore always falls back to
	// local state.
	Store string
	// Op is what it was doing: "claim" (nonce) or "acquire" (lease).
	Op string
	// Err is the cause. The nonce store's is nil when Redis was not
	// tried (marked down); the quota's is never nil: it wraps the cause,
	// or says Redis is marked down, and matches transport.ErrRateLimited.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	s := "fleet: " + e.Store + " " + e.Op + ": redis unavailable"
	if poolExhausted(e.Err) {
		s = "fleet: " + e.Store + " " + e.Op + ": redis connection pool exhausted"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	} else {
		s += " (marked down, next probe pending)"
	}
	return s
}

// Unwrap returns ErrUnavailable and the cause; ErrPoolExhausted instead
// of ErrUnavailable when the cause is go-redis's pool timeout or
// exhaustion (Redis was not reached, and is not taken to be down).
func (e *Error) Unwrap() []error {
	if poolExhausted(e.Err) {
		return []error{ErrPoolExhausted, e.Err}
	}
	if e.Err == nil {
		return []error{ErrUnavailable}
	}
	return []error{ErrUnavailable, e.Err}
}

// ConfigError is the configuration error of every securecall package.
type ConfigError = transport.ConfigError

func configError(option, reason string) error {
	return &ConfigError{Option: option, Reason: reason}
}

func init() { configerr.RegisterZeroCheck(zeroReason) }

// zeroReason returns why v, a value of one of this package's types that
// was not made by its constructor (a zero value such as new(NonceStore)),
// cannot be used, and "" when it can. signer.NewVerifier (Nonces), the
// transport layers (a CooldownStore, a BreakerStore, a SharedQuota) and
// the client options that take a store or a Fleet refuse such a value
// with a *ConfigError naming the option.
func zeroReason(v any) string {
	switch v := v.(type) {
	case *Fleet:
		if v != nil && v.cooldowns == nil {
			return errZeroFleet.Reason
		}
	case *CooldownStore:
		if v != nil && v.h == nil {
			return errZeroCooldownStore.Reason
		}
	case *BreakerStore:
		if v != nil && v.h == nil {
			return errZeroBreakerStore.Reason
		}
	case *NonceStore:
		if v != nil && v.h == nil {
			return errZeroNonceStore.Reason
		}
	case *Quota:
		if v != nil && v.h == nil {
			return errZeroQuota.Reason
		}
	}
	return ""
}

// zeroErr returns a copy of e, one of the errors below, which the methods
// of a zero value return instead of panicking or (NonceStore, Quota)
// failing open.
func zeroErr(e *ConfigError) *ConfigError { c := *e; return &c }

// The errors the methods of a zero value return (as copies).
var (
	errZeroFleet         = &ConfigError{Option: "Fleet", Reason: "a zero fleet.Fleet: not made by New"}
	errZeroCooldownStore = &ConfigError{Option: "CooldownStore", Reason: "a zero fleet.CooldownStore: not made by NewCooldownStore"}
	errZeroBreakerStore  = &ConfigError{Option: "BreakerStore", Reason: "a zero fleet.BreakerStore: not made by NewBreakerStore"}
	errZeroNonceStore    = &ConfigError{Option: "NonceStore", Reason: "a zero fleet.NonceStore: not made by NewNonceStore"}
	errZeroQuota         = &ConfigError{Option: "Quota", Reason: "a zero fleet.Quota: not made by NewQuota"}
)

// ErrPoolExhausted reports a call that found every connection of the
// go-redis client's pool busy (redis.ErrPoolTimeout after PoolTimeout, or
// redis.ErrPoolExhausted at MaxActiveConns): local back-pressure, not a
// Redis outage. Such a call never reached Redis; it does not mark Redis
// down, is not counted in Stats.RedisErrors or MetricRedisErrors, and the
// next call tries Redis again. The store answers that one call as its
// Policy says (FailClosed: an *Error matching ErrPoolExhausted and the
// go-redis error, not ErrUnavailable).
var ErrPoolExhausted = errors.New("fleet: redis connection pool exhausted")
