package fleet

import (
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"

	"github.com/securecall/securecall/transport"
)

// Options configures a Fleet. The zero value is usable. Prefix, Timeout,
// ProbeInterval and MeterProvider apply to every store whose own options
// leave them zero.
type Options struct {
	// Prefix starts every key. Zero: DefaultPrefix.
	Prefix string
	// Timeout bounds each Redis call. Zero: DefaultTimeout;
	// under a millisecond (no Redis call finishes in it): a *ConfigError.
	Timeout time.Duration
	// ProbeInterval: how often a store that marked Redis down tries it
	// again. Zero: DefaultProbeInterval. Under a millisecond
	// (every call of an outage would wait out the Timeout): a *ConfigError.
	ProbeInterval time.Duration
	// MeterProvider creates the stores' instruments. Nil: the global
	// provider. The stores count on goroutines of their own too, so a
	// panic of one of its instruments (a bug in it) is recovered and
	// logged with slog, never let end the process.
	MeterProvider metric.MeterProvider
	// Cooldown configures the shared cooldown store.
	Cooldown CooldownOptions
	// Breaker configures the shared breaker store.
	Breaker BreakerOptions
	// Quota, when set, configures the fleet-wide rate limit (its limits
	// and degraded policy; see QuotaOptions). Nil: no shared quota
	// (SharedQuota returns nil and the throttle uses local limits only).
	Quota *QuotaOptions
}

// Fleet is the client side of fleet mode: the stores a client's layers
// share with the other replicas through one Redis. It implements
// client.Fleet, so a replica's client is built with
//
//	f, err := fleet.New(rdb, fleet.Options{})
//	c, err := client.New(client.WithOrigins(...), client.WithFleet(f))
//
// It holds a CooldownStore (retry layer: Retry-After, RateLimit r=0), a
// BreakerStore (breaker layer: "open until") and, when Options.Quota is
// set, a Quota (throttle layer: the fleet-wide rate limit). The verifier
// side's NonceStore is separate (NewNonceStore). Use one Fleet for all the
// clients of a process; the caller owns rdb, and the Fleet has nothing to
// close.
type Fleet struct {
	cooldowns *CooldownStore
	breakers  *BreakerStore
	quota     *Quota // nil: none
}

// New returns the Fleet of stores on rdb, which the caller owns. A
// go-redis Client, ClusterClient or Ring must have ContextTimeoutEnabled
// set and a PoolTimeout below every store's Timeout (a *ConfigError for
// "client" otherwise, naming the store, its Timeout field and both values;
// see docs/fleet.md). A Ring with Options.Quota set is a *ConfigError for
// "client" too (see NewQuota). Bad options are a *ConfigError naming the field (Cooldown.X,
// Breaker.X, Quota.X for a store's own).
func New(rdb redis.UniversalClient, opts Options) (*Fleet, error) {
	if err := checkTimes(opts.Timeout, opts.ProbeInterval); err != nil {
		return nil, err
	}
	cool := opts.Cooldown
	fill(&cool.Prefix, &cool.Timeout, &cool.ProbeInterval, &cool.MeterProvider, opts)
	br := opts.Breaker
	fill(&br.Prefix, &br.Timeout, &br.ProbeInterval, &br.MeterProvider, opts)
	// Every store's times first, before a client check of another store
	// that their own fault would then hide.
	if err := checkTimes(cool.Timeout, cool.ProbeInterval); err != nil {
		return nil, prefixed(err, "Cooldown.")
	}
	if err := checkTimes(br.Timeout, br.ProbeInterval); err != nil {
		return nil, prefixed(err, "Breaker.")
	}
	if q := opts.Quota; q != nil {
		to, pi := q.Timeout, q.ProbeInterval
		if to == 0 {
			to = opts.Timeout
		}
		if pi == 0 {
			pi = opts.ProbeInterval
		}
		if err := checkTimes(to, pi); err != nil {
			return nil, prefixed(err, "Quota.")
		}
	}
	f := &Fleet{}
	var err error
	if f.cooldowns, err = NewCooldownStore(rdb, cool); err != nil {
		return nil, prefixed(err, "Cooldown.")
	}
	if f.breakers, err = NewBreakerStore(rdb, br); err != nil {
		return nil, prefixed(err, "Breaker.")
	}
	if opts.Quota != nil {
		q := *opts.Quota
		fill(&q.Prefix, &q.Timeout, &q.ProbeInterval, &q.MeterProvider, opts)
		if f.quota, err = NewQuota(rdb, q); err != nil {
			return nil, prefixed(err, "Quota.")
		}
	}
	return f, nil
}

// fill sets each zero per-store setting from opts.
func fill(prefix *string, timeout, probe *time.Duration, mp *metric.MeterProvider, opts Options) {
	if *prefix == "" {
		*prefix = opts.Prefix
	}
	if *timeout == 0 {
		*timeout = opts.Timeout
	}
	if *probe == 0 {
		*probe = opts.ProbeInterval
	}
	if *mp == nil {
		*mp = opts.MeterProvider
	}
}

// prefixed names a store's field in a *ConfigError from its constructor.
// A bad client keeps its name; its reason gets the store's Timeout field
// added (p + "Timeout"), for a client whose PoolTimeout is not below it:
// each store of a Fleet has its own Timeout.
func prefixed(err error, p string) error {
	ce, ok := err.(*ConfigError)
	if !ok {
		return err
	}
	c := *ce
	if ce.Option != "client" {
		c.Option = p + c.Option
	} else if strings.Contains(ce.Reason, "PoolTimeout") {
		c.Reason += " (" + p + "Timeout, or Timeout when that is zero)"
	}
	return &c
}

// CooldownStore returns the shared cooldown store (client.Fleet).
func (f *Fleet) CooldownStore() transport.CooldownStore { return f.cooldowns }

// BreakerStore returns the shared breaker store (client.Fleet).
func (f *Fleet) BreakerStore() transport.BreakerStore { return f.breakers }

// SharedQuota returns the fleet-wide rate limit (client.Fleet), or nil
// when Options.Quota was not set.
func (f *Fleet) SharedQuota() transport.SharedQuota {
	if f.quota == nil {
		return nil // an untyped nil: "not shared"
	}
	return f.quota
}

// Cooldowns returns the cooldown store, for its Stats.
func (f *Fleet) Cooldowns() *CooldownStore { return f.cooldowns }

// Breakers returns the breaker store, for its Stats.
func (f *Fleet) Breakers() *BreakerStore { return f.breakers }

// Quota returns the fleet-wide rate limit, for its Stats, or nil.
func (f *Fleet) Quota() *Quota { return f.quota }
