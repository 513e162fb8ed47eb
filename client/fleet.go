package client

import (
	"github.com/securecall/securecall/internal/configerr"
	"github.com/securecall/securecall/transport"
)

// Fleet is a set of stores that the replicas of a service share, so that
// what one replica learns about a host holds for all of them: the fleet
// module's *fleet.Fleet (on Redis) implements it. Each method returns the
// store of one kind, or nil when the fleet does not share that kind of
// state. The caller owns the fleet and what it holds (a Redis client, for
// one); Client.Close does not close it.
type Fleet interface {
	// CooldownStore shares the per-host cooldowns of the retry layer
	// (Retry-After, RateLimit r=0): see WithCooldownStore.
	CooldownStore() transport.CooldownStore
	// BreakerStore shares when each host's circuit breaker is open: see
	// WithBreakerStore.
	BreakerStore() transport.BreakerStore
	// SharedQuota shares a rate limit among the replicas: see
	// WithSharedQuota.
	SharedQuota() transport.SharedQuota
}

// fleetStores records which option supplied each shared store, for the
// conflict messages.
type fleetStores struct {
	fleet        Fleet
	breakers     transport.BreakerStore
	quota        transport.SharedQuota
	cooldownsSet bool // WithCooldownStore was given
}

// WithBreakerStore shares the per-host circuit breakers' "open until"
// through store: when one client's breaker for a host opens, every client
// on the store fails fast for that host (a *transport.CircuitOpenError with
// Shared set, nothing sent) until the breaker's open end; failures are
// still counted by each client alone, and an opening caused by the
// client's own failures (DNS, its proxy, its network stack) is not
// shared. Across replicas use the fleet module's store; see
// docs/fleet.md. It conflicts with WithoutBreaker.
// Default: a client's breakers share nothing.
func WithBreakerStore(store transport.BreakerStore) Option {
	return requireValue("WithBreakerStore", store, func(c *config, v transport.BreakerStore) {
		if !c.failTypedNil("WithBreakerStore", v) {
			c.res.shared.breakers = v
		}
	})
}

// WithSharedQuota makes the throttle take every attempt's share of quota
// (and the share of its replay after a 401, a second request to the
// host), a rate limit shared with other clients or replicas (the fleet
// module leases it from Redis), after the client's own per-host limits. A quota
// that asks to wait is obeyed within the throttle's wait limit and the
// call's deadline; beyond them the attempt fails with ErrRateLimited. It
// conflicts with WithoutThrottle. Default: no shared quota.
func WithSharedQuota(quota transport.SharedQuota) Option {
	return requireValue("WithSharedQuota", quota, func(c *config, v transport.SharedQuota) {
		if !c.failTypedNil("WithSharedQuota", v) {
			c.res.shared.quota = v
		}
	})
}

// WithFleet turns on fleet mode: the cooldowns, breaker state and quota
// that f shares (the fleet module's fleet.New on a Redis client you own)
// are used by every layer that is on; a store f returns as nil is not
// shared, and a layer turned off (WithoutBreaker, WithoutThrottle) does
// not use its store. WithCooldownStore, WithBreakerStore and
// WithSharedQuota, given as well, replace the fleet's store of their kind,
// whatever the order, and so does a store set in WithResilience's config.
// A fleet that shares nothing is a *ConfigError naming WithFleet, and so
// is one whose store in use was not made by its constructor (a zero
// fleet.BreakerStore, say).
// Default: no fleet.
func WithFleet(f Fleet) Option {
	return requireValue("WithFleet", f, func(c *config, v Fleet) {
		if !c.failTypedNil("WithFleet", v) {
			c.res.shared.fleet = v
		}
	})
}

// failTypedNil records a *ConfigError for option when v, a non-nil
// interface value, holds a nil pointer (or the like), which requireValue
// lets through.
func (c *config) failTypedNil(option string, v any) bool {
	if !configerr.IsNil(v) {
		return false
	}
	c.fail(option, "nil %T", v)
	return true
}

// sharedStores applies the shared stores to rc, whose DisableBreaker and
// DisableThrottle are final, and reports conflicts.
func (r *resilience) sharedStores(rc *transport.ResilienceConfig) error {
	s := r.shared
	if s.breakers != nil && rc.DisableBreaker {
		return &ConfigError{Option: "WithBreakerStore", Reason: "conflicts with " + r.breakerOff() + ": a shared breaker state needs the breaker"}
	}
	if s.quota != nil && rc.DisableThrottle {
		return &ConfigError{Option: "WithSharedQuota", Reason: "conflicts with " + r.throttleOff() + ": the shared quota is taken by the throttle"}
	}
	if s.fleet != nil {
		cool, br, q := s.fleet.CooldownStore(), s.fleet.BreakerStore(), s.fleet.SharedQuota()
		if configerr.IsNil(cool) && configerr.IsNil(br) && configerr.IsNil(q) {
			return &ConfigError{Option: "WithFleet", Reason: "the fleet shares no store (CooldownStore, BreakerStore and SharedQuota are all nil)"}
		}
		// A store the WithResilience config names is as explicit as one
		// of the With*Store options: the fleet's does not replace it. A
		// store the fleet returns that was not made by its constructor
		// is refused here, naming WithFleet, not left to the layer, whose
		// error would name a field the caller never set.
		if !s.cooldownsSet && !configerr.IsNil(cool) && rc.Retry.Cooldowns == nil {
			if err := fleetStoreErr("CooldownStore", cool); err != nil {
				return err
			}
			rc.Retry.Cooldowns = cool
		}
		if s.breakers == nil && !configerr.IsNil(br) && !rc.DisableBreaker && rc.Breaker.Store == nil {
			if err := fleetStoreErr("BreakerStore", br); err != nil {
				return err
			}
			rc.Breaker.Store = br
		}
		if s.quota == nil && !configerr.IsNil(q) && !rc.DisableThrottle && rc.Throttle.Quota == nil {
			if err := fleetStoreErr("SharedQuota", q); err != nil {
				return err
			}
			rc.Throttle.Quota = q
		}
	}
	if s.breakers != nil {
		rc.Breaker.Store = s.breakers
	}
	if s.quota != nil {
		rc.Throttle.Quota = s.quota
	}
	return nil
}

// fleetStoreErr returns a *ConfigError naming WithFleet (and the Fleet
// method) when store, returned by the fleet's method, is a value of a
// securecall type not made by its constructor, and nil otherwise.
func fleetStoreErr(method string, store any) error {
	if err := configerr.Unconstructed(method, store); err != nil {
		return &ConfigError{Option: "WithFleet", Err: err}
	}
	return nil
}

// breakerOff names the option that turned the breaker off.
func (r *resilience) breakerOff() string {
	if r.noBreaker {
		return "WithoutBreaker"
	}
	return "WithResilience (DisableBreaker)"
}

// throttleOff names the option that turned the throttle off.
func (r *resilience) throttleOff() string {
	if r.noThrottle {
		return "WithoutThrottle"
	}
	return "WithResilience (DisableThrottle)"
}
