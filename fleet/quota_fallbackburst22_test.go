package fleet

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// TestQuotaFallBackLocalBurstBelowReplicas pins what the docs say of
// FallBackLocal with a Burst below ExpectedReplicas: each replica's share
// of the burst, under one request, is one, so 20 replicas of a quota of
// 4 per hour grant 20 requests at once while Redis is down (the quota
// allows 4), and no replica a second one before its share of the rate
// (one per 5 hours) has accrued.
func TestQuotaFallBackLocalBurstBelowReplicas(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const replicas = 20
		granted := 0
		for range replicas {
			g := newFakeGCRA(4, 4)
			g.err = errors.New("redis: connection refused")
			q := fakeQuota(t, g, QuotaOptions{
				Limit:            QuotaLimit{Rate: 4, Period: time.Hour},
				ExpectedReplicas: replicas,
			})
			for range 3 {
				if d, err := q.TakeQuota(context.Background(), "api.example.com"); err != nil {
					t.Fatal(err)
				} else if d == 0 {
					granted++
				}
			}
		}
		if granted != replicas {
			t.Fatalf("%d requests granted by %d replicas with Redis down, want one each (%d), as documented", granted, replicas, replicas)
		}
	})
}
