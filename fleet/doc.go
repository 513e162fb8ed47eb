// Package fleet shares the state that must hold across the replicas of a
// service, on Redis (github.com/redis/go-redis/v9), in a module of its own
// so that services without Redis never download its client.
//
// Each store is a drop-in for an interface of the core module:
//
//   - NonceStore is a signer.NonceStore (VerifierOptions.Nonces): a
//     signature's nonce accepted by one verifier replica is refused by
//     all of them, with one SET NX PX per verified request (and a GET
//     when the key exists, to tell a replay from a retried SET).
//   - CooldownStore is a transport.CooldownStore (RetryConfig.Cooldowns):
//     a 429, 503 + Retry-After or RateLimit r=0 seen by one replica stops
//     every replica from sending to that host until the cooldown ends,
//     with reads served from a local cache refreshed at most every
//     RefreshInterval.
//   - BreakerStore is a transport.BreakerStore (BreakerConfig.Store): when
//     one replica's circuit breaker for a host opens, every replica fails
//     fast for that host until its open end. Only "open until" is shared;
//     failures are counted locally, and neither method waits for Redis.
//     An opening only the replica's own failures caused (DNS, its proxy,
//     its network stack: nothing reached the host) is not shared.
//   - Quota is a transport.SharedQuota (ThrottleConfig.Quota): a
//     fleet-wide rate limit leased from Redis in batches.
//
// Fleet (New) bundles the client-side stores and implements client.Fleet:
// client.New(client.WithFleet(f)) turns fleet mode on for a client.
//
// Every Redis call is bounded by the store's Timeout. A failed call marks
// Redis down for the store, which then applies its Policy (FailClosed or
// FallBackLocal) until a probe, one call per ProbeInterval, succeeds; the
// MetricDegraded up-down counter shows the state. The nonce store fails
// closed by default, the cooldown store falls back to local state, and the
// breaker store always does (each replica's own breaker keeps working). A
// claim ended by its caller's own deadline or cancellation does not mark
// Redis down, but the nonce store then checks Redis against its Timeout in
// the background (one check at a time), so a hung Redis is marked down
// even when every caller's deadline is shorter than Timeout.
//
// The caller owns the go-redis client and must enable
// ContextTimeoutEnabled on it and set its PoolTimeout below the stores'
// Timeout (go-redis's default is seconds), or a call that finds every
// pooled connection busy would end at the Timeout and count as a Redis
// outage instead of ErrPoolExhausted; the constructors refuse a
// *redis.Client, *redis.ClusterClient or *redis.Ring that does not with a
// *ConfigError (docs/fleet.md says what is checked for each).
// NewNonceStore and NewQuota refuse a *redis.Ring: it moves a down shard's
// keys to another shard, where a nonce or a quota starts afresh.
// docs/fleet.md has the guarantees, their limits, sizing and what is not
// built yet.
package fleet
