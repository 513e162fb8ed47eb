package fleet

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/transport"
)

// TestQuotaForeignKeyValueDoesNotDegradeOtherHosts: one host's quota key
// holding a value the GCRA script cannot read (something else wrote it
// under the prefix: a string that is no number, or a list: WRONGTYPE) is
// that quota's fault, not Redis's. Its lease fails and its callers get the
// Policy (FailClosed: refused; FallBackLocal: the local share), counted as
// a Redis error, without another Redis call until a ProbeInterval has
// passed; Redis is not marked down and every other host keeps leasing.
// Before, each such lease marked Redis down for the whole Quota: under
// FailClosed every other host was refused with ErrUnavailable while Redis
// answered.
func TestQuotaForeignKeyValueDoesNotDegradeOtherHosts(t *testing.T) {
	for _, foreign := range []string{"string", "list"} {
		for _, policy := range []Policy{FailClosed, FallBackLocal} {
			t.Run(foreign+"/"+policy.String(), func(t *testing.T) {
				srv := redistest.Start(t)
				c := srv.Client()
				ctx := context.Background()
				key := "rate:securecall:quota:bad.example"
				var err error
				if foreign == "string" {
					err = c.Set(ctx, key, "not a number", 0).Err()
				} else {
					err = c.RPush(ctx, key, "x").Err()
				}
				if err != nil {
					t.Fatal(err)
				}
				// Burst 4: a lease holds one token, so every take leases.
				q := newQuota(t, c, QuotaOptions{Limit: QuotaLimit{Rate: 1000, Burst: 4}, Policy: policy,
					ExpectedReplicas: 1000, ProbeInterval: time.Hour})
				_, err = q.TakeQuota(ctx, "bad.example")
				switch policy {
				case FailClosed:
					if !errors.Is(err, ErrUnavailable) || !errors.Is(err, transport.ErrRateLimited) {
						t.Fatalf("bad.example: %v, want a refusal matching ErrUnavailable and ErrRateLimited", err)
					}
				default:
					if err != nil {
						t.Fatalf("bad.example under FallBackLocal: %v, want the local share", err)
					}
				}
				st := q.Stats()
				if st.Degraded || st.RedisErrors != 1 || st.RedisCalls != 1 {
					t.Fatalf("after the bad key's lease: %+v, want 1 call, 1 error, Redis not marked down", st)
				}
				for i := range 3 {
					if d, err := q.TakeQuota(ctx, "good.example"); err != nil || d != 0 {
						t.Fatalf("good.example take %d: (%v, %v); stats %+v", i, d, err, q.Stats())
					}
				}
				if st := q.Stats(); st.Degraded || st.RedisCalls != 4 {
					t.Fatalf("good.example did not lease from Redis: %+v", st)
				}
				// The bad quota waits out the ProbeInterval: no Redis call.
				_, err = q.TakeQuota(ctx, "bad.example")
				if policy == FailClosed && !errors.Is(err, ErrUnavailable) {
					t.Fatalf("bad.example again: %v, want refused", err)
				}
				if st := q.Stats(); st.RedisCalls != 4 || st.RedisErrors != 1 {
					t.Fatalf("bad.example asked Redis again within the ProbeInterval: %+v", st)
				}
			})
		}
	}
}

// TestQuotaReadOnlyStillMarksRedisDown: a refusal that is about Redis, not
// the key (READONLY: a replica after a failover), still marks Redis down
// for the whole Quota.
func TestQuotaReadOnlyStillMarksRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client()
	ctx := context.Background()
	q := newQuota(t, c, QuotaOptions{Limit: QuotaLimit{Rate: 1000, Burst: 4}, Policy: FailClosed, ProbeInterval: time.Hour})
	if err := c.Do(ctx, "REPLICAOF", "127.0.0.1", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := q.TakeQuota(ctx, "a.example"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("a.example on a read-only replica: %v, want ErrUnavailable", err)
	}
	if st := q.Stats(); !st.Degraded || st.RedisErrors != 1 {
		t.Fatalf("READONLY: %+v, want Redis marked down", st)
	}
}
