package fleet

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/securecall/securecall/fleet/internal/redistest"
)

// A redis.Ring drops a shard it finds down and sends its keys to another
// shard, each replica's Ring on its own: a quota whose key lived on the
// lost shard starts afresh, with a full burst, on another one, while no
// store call fails (neither policy applies; FailClosed grants). Measured
// on two redis-servers before NewQuota refused a Ring: a quota of 4 per
// hour under FailClosed granted 4, its shard was killed, and a second
// replica's Quota on its own Ring was granted 4 more, Stats not degraded.
// NewQuota refuses a Ring, as NewNonceStore does; fleet.New refuses one
// only with a Quota (cooldowns and breaker ends lost with a shard are
// lost as with a restarted Redis).
func TestQuotaRefusesRing(t *testing.T) {
	srv := redistest.Start(t)
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": srv.Addr()},
		ContextTimeoutEnabled: true, PoolTimeout: 50 * time.Millisecond})
	t.Cleanup(func() { ring.Close() })
	qo := QuotaOptions{Limit: QuotaLimit{Rate: 4, Period: time.Hour}, Policy: FailClosed}
	var ce *ConfigError
	if _, err := NewQuota(ring, qo); !errors.As(err, &ce) || ce.Option != "client" || !strings.Contains(ce.Reason, "Ring") {
		t.Errorf("NewQuota on a Ring: %v, want a *ConfigError for client naming the Ring", err)
	}
	if _, err := New(ring, Options{Quota: &qo}); !errors.As(err, &ce) || ce.Option != "client" || !strings.Contains(ce.Reason, "Ring") {
		t.Errorf("New with a Quota on a Ring: %v, want a *ConfigError for client naming the Ring", err)
	}
	if _, err := New(ring, Options{}); err != nil {
		t.Errorf("New without a Quota on a Ring: %v", err)
	}
}
