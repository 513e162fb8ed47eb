package fleet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/transport"
)

func newQuota(t testing.TB, c redis.UniversalClient, opts QuotaOptions) *Quota {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = patientTimeout
	}
	q, err := NewQuota(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// leaseStats returns the leases that answered, the tokens they granted and
// the tokens dropped unused for host's quota.
func (q *Quota) leaseStats(host string) (leases, leased, expired int64) {
	st := q.state(host)
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.leases, st.leased, st.expired
}

// fakeGCRA stands in for redis_rate in virtual time: a token bucket of
// rate tokens per second and burst, answering AllowAtMost like redis_rate
// (as many as available up to n; 0 and the time to the next token when
// none). It records every call's n.
type fakeGCRA struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	asked  []int
	err    error
	block  chan struct{} // when non-nil, calls wait for it (or ctx)
}

func newFakeGCRA(rate, burst float64) *fakeGCRA {
	return &fakeGCRA{rate: rate, burst: burst, tokens: burst, last: time.Now()}
}

func (f *fakeGCRA) allow(ctx context.Context, _ string, l redis_rate.Limit, n int) (*redis_rate.Result, error) {
	f.mu.Lock()
	block := f.block
	f.asked = append(f.asked, n)
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	now := time.Now()
	f.tokens = min(f.burst, f.tokens+now.Sub(f.last).Seconds()*f.rate)
	f.last = now
	if f.tokens < 1 {
		return &redis_rate.Result{Limit: l, RetryAfter: time.Duration((1 - f.tokens) / f.rate * float64(time.Second))}, nil
	}
	g := min(n, int(f.tokens))
	f.tokens -= float64(g)
	return &redis_rate.Result{Limit: l, Allowed: g, RetryAfter: -1}, nil
}

func (f *fakeGCRA) calls() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.asked...)
}

// quotaNoRedis is a client no test talks to: the fake GCRA answers.
var quotaNoRedis = redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true, MaxRetries: -1, PoolTimeout: 50 * time.Millisecond})

func fakeQuota(t *testing.T, g *fakeGCRA, opts QuotaOptions) *Quota {
	t.Helper()
	if opts.Policy == PolicyDefault && opts.ExpectedReplicas == 0 {
		opts.ExpectedReplicas = 1
	}
	q := newQuota(t, quotaNoRedis, opts)
	q.allow = g.allow
	return q
}

// TestQuotaLeasesInBatches: tokens come from memory between leases; a
// batch grows with the replica's demand and shrinks when demand falls.
func TestQuotaLeasesInBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newFakeGCRA(100000, 100000)
		q := fakeQuota(t, g, QuotaOptions{Limit: QuotaLimit{Rate: 100000, Burst: 100000}, MaxBatch: 500})
		ctx := context.Background()

		// Fast demand: 1,000 requests in a burst, then 1,000/s.
		for range 1000 {
			if d, err := q.TakeQuota(ctx, "api.example.com"); d != 0 || err != nil {
				t.Fatalf("TakeQuota = %v, %v", d, err)
			}
		}
		for range 1000 {
			time.Sleep(time.Millisecond)
			if d, err := q.TakeQuota(ctx, "api.example.com"); d != 0 || err != nil {
				t.Fatalf("TakeQuota = %v, %v", d, err)
			}
		}
		fast := g.calls()
		if len(fast) >= 200 {
			t.Fatalf("2,000 requests made %d leases", len(fast))
		}
		if last := fast[len(fast)-1]; last < 50 || last > 500 {
			t.Fatalf("at 1,000/s the batch is %d, want about 1,000/s × LeaseTTL/2 = 100", last)
		}
		if q.Stats().RedisCalls != int64(len(fast)) {
			t.Fatalf("RedisCalls %d, leases %d", q.Stats().RedisCalls, len(fast))
		}

		// Slow demand: 10/s. The batch falls to the minimum.
		for range 50 {
			time.Sleep(100 * time.Millisecond)
			if d, err := q.TakeQuota(ctx, "api.example.com"); d != 0 || err != nil {
				t.Fatalf("TakeQuota = %v, %v", d, err)
			}
		}
		slow := g.calls()[len(fast):]
		if last := slow[len(slow)-1]; last != 1 {
			t.Fatalf("at 10/s the batch is %d, want 1 (MinBatch)", last)
		}
		// Tokens leased at the fast rate and left unused expired.
		if _, _, expired := q.leaseStats("api.example.com"); expired == 0 {
			t.Fatal("no leased token expired after the demand fell")
		}
	})
}

// TestQuotaBatchBounds: a lease never asks for more than MaxBatch or a
// quarter of the burst, nor less than MinBatch.
func TestQuotaBatchBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newFakeGCRA(1e6, 1e6)
		q := fakeQuota(t, g, QuotaOptions{
			Limit:    QuotaLimit{Rate: 1e6, Burst: 1e6},
			Hosts:    []QuotaLimit{{Pattern: "small.example.com", Rate: 1e6, Burst: 40}},
			MinBatch: 5, MaxBatch: 60,
		})
		for range 5000 {
			q.TakeQuota(context.Background(), "big.example.com")
		}
		for _, n := range g.calls() {
			if n < 5 || n > 60 {
				t.Fatalf("lease of %d outside [MinBatch 5, MaxBatch 60]", n)
			}
		}
		before := len(g.calls())
		for range 1000 {
			q.TakeQuota(context.Background(), "small.example.com")
		}
		for _, n := range g.calls()[before:] {
			if n > 10 {
				t.Fatalf("lease of %d above Burst/4 = 10", n)
			}
		}
	})
}

// TestQuotaLeaseExpires: leased tokens are usable for LeaseTTL only.
func TestQuotaLeaseExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newFakeGCRA(1000, 1000)
		q := fakeQuota(t, g, QuotaOptions{Limit: QuotaLimit{Rate: 1000}, MinBatch: 10, LeaseTTL: 100 * time.Millisecond})
		ctx := context.Background()
		q.TakeQuota(ctx, "api.example.com")
		q.TakeQuota(ctx, "api.example.com")
		if n := len(g.calls()); n != 1 {
			t.Fatalf("%d leases, want 1", n)
		}
		time.Sleep(100 * time.Millisecond)
		q.TakeQuota(ctx, "api.example.com")
		if n := len(g.calls()); n != 2 {
			t.Fatalf("after LeaseTTL: %d leases, want 2", n)
		}
		if _, leased, expired := q.leaseStats("api.example.com"); leased != 20 || expired != 8 {
			t.Fatalf("leased %d, expired %d; want 20, 8", leased, expired)
		}
	})
}

// TestQuotaShortLeaseWaits: when the quota is used up, TakeQuota answers
// with a retry time and does not ask Redis again before it; after it, a
// lease succeeds.
func TestQuotaShortLeaseWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newFakeGCRA(100, 10)
		q := fakeQuota(t, g, QuotaOptions{Limit: QuotaLimit{Rate: 100, Burst: 10}})
		ctx := context.Background()
		granted := 0
		var retry time.Duration
		for range 100 {
			d, err := q.TakeQuota(ctx, "api.example.com")
			if err != nil {
				t.Fatal(err)
			}
			if d > 0 {
				retry = d
				break
			}
			granted++
		}
		if granted != 10 || retry <= 0 || retry > time.Second {
			t.Fatalf("granted %d (burst 10), then retry in %v", granted, retry)
		}
		calls := len(g.calls())
		for range 100 {
			if d, err := q.TakeQuota(ctx, "api.example.com"); d <= 0 || err != nil {
				t.Fatalf("within the wait: %v, %v", d, err)
			}
		}
		if len(g.calls()) != calls {
			t.Fatalf("asked Redis %d times while waiting", len(g.calls())-calls)
		}
		time.Sleep(retry)
		if d, err := q.TakeQuota(ctx, "api.example.com"); d != 0 || err != nil {
			t.Fatalf("after the wait: %v, %v", d, err)
		}
	})
}

// TestQuotaSingleFlight: while a lease is in progress, other callers wait
// for it instead of calling Redis; a caller whose context ends stops
// waiting without spoiling the lease for the others.
func TestQuotaSingleFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newFakeGCRA(1e6, 1e6)
		g.block = make(chan struct{})
		q := fakeQuota(t, g, QuotaOptions{Limit: QuotaLimit{Rate: 1e6}, MinBatch: 100, Timeout: time.Minute})

		short, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		var ok atomic.Int64
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if d, err := q.TakeQuota(context.Background(), "api.example.com"); d == 0 && err == nil {
					ok.Add(1)
				}
			})
		}
		var shortErr error
		wg.Go(func() { _, shortErr = q.TakeQuota(short, "api.example.com") })
		synctest.Wait()
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		if n := len(g.calls()); n != 1 {
			t.Fatalf("%d leases in progress, want 1", n)
		}
		close(g.block)
		wg.Wait()
		if !errors.Is(shortErr, context.DeadlineExceeded) {
			t.Fatalf("caller with a 1ms deadline: %v", shortErr)
		}
		if ok.Load() != 50 || len(g.calls()) != 1 {
			t.Fatalf("%d of 50 granted with %d leases; want 50 with 1", ok.Load(), len(g.calls()))
		}
	})
}

// TestQuotaLeaseCoversWaiters: a burst of callers after a quiet spell
// needs only a couple of leases: each asks for at least one token per
// caller waiting, whatever the (low) rate estimate says.
func TestQuotaLeaseCoversWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newFakeGCRA(1e6, 1e6)
		g.block = make(chan struct{})
		// A LeaseTTL this short keeps the rate estimate's batch at 1.
		q := fakeQuota(t, g, QuotaOptions{Limit: QuotaLimit{Rate: 1e6}, LeaseTTL: 2 * time.Millisecond})
		var ok atomic.Int64
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if d, err := q.TakeQuota(context.Background(), "api.example.com"); d == 0 && err == nil {
					ok.Add(1)
				}
			})
		}
		synctest.Wait()
		close(g.block)
		wg.Wait()
		if ok.Load() != 50 || len(g.calls()) > 3 {
			t.Fatalf("%d of 50 callers granted, %d leases %v; want 50 with at most 3", ok.Load(), len(g.calls()), g.calls())
		}
	})
}

// TestQuotaBackoffSpacesLeases: replicas competing for a saturated quota
// lease less and less often while leases come back short.
func TestQuotaBackoffSpacesLeases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newFakeGCRA(100, 100)
		const replicas = 8
		var qs []*Quota
		for range replicas {
			qs = append(qs, fakeQuota(t, g, QuotaOptions{Limit: QuotaLimit{Rate: 100}}))
		}
		var granted atomic.Int64
		var wg sync.WaitGroup
		end := time.Now().Add(10 * time.Second)
		for _, q := range qs {
			for range 4 {
				wg.Go(func() {
					for time.Now().Before(end) {
						d, err := q.TakeQuota(context.Background(), "api.example.com")
						if err != nil {
							t.Error(err)
							return
						}
						if d == 0 {
							granted.Add(1)
							continue
						}
						time.Sleep(d)
					}
				})
			}
		}
		wg.Wait()
		calls := len(g.calls())
		got := granted.Load()
		t.Logf("8 replicas, quota 100/s, 10 s: %d granted, %d leases (%.0f per 1,000)", got, calls, float64(calls)*1000/float64(got))
		if got > 100+100*10 || got < 900 {
			t.Fatalf("granted %d, want within [900, 1100]", got)
		}
		// Without the gate every replica would poll once per token or
		// more (≥ 1,000 leases per 1,000 grants).
		if bound := saturatedCallBound(replicas, 10*time.Second, DefaultLeaseTTL, got); int64(calls) > bound {
			t.Fatalf("%d leases for %d grants, more than the design bound %d", calls, got, bound)
		}
	})
}

// TestQuotaPolicyFakeOutage checks the degraded paths in virtual time:
// used leases first, then the policy, one probe per interval, recovery.
func TestQuotaPolicyFakeOutage(t *testing.T) {
	for _, policy := range []Policy{FailClosed, FallBackLocal} {
		t.Run(policy.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := newFakeGCRA(1000, 1000)
				q := fakeQuota(t, g, QuotaOptions{Limit: QuotaLimit{Rate: 1000}, MinBatch: 10,
					Policy: policy, ExpectedReplicas: 4, ProbeInterval: time.Second})
				ctx := context.Background()
				q.TakeQuota(ctx, "api.example.com") // leases 10
				g.mu.Lock()
				g.err = errors.New("redis: connection refused")
				g.mu.Unlock()
				for i := range 9 {
					if d, err := q.TakeQuota(ctx, "api.example.com"); d != 0 || err != nil {
						t.Fatalf("leased token %d: %v, %v", i, d, err)
					}
				}
				granted, refused := 0, 0
				for range 1000 {
					d, err := q.TakeQuota(ctx, "api.example.com")
					switch {
					case err != nil:
						var fe *Error
						if !errors.Is(err, transport.ErrRateLimited) || !errors.Is(err, ErrUnavailable) || !errors.As(err, &fe) || fe.Store != "lease" {
							t.Fatalf("refusal %v", err)
						}
						refused++
					case d == 0:
						granted++
					}
				}
				if calls := len(g.calls()); calls != 2 {
					t.Fatalf("%d Redis calls within one probe interval, want 2", calls)
				}
				switch policy {
				case FailClosed:
					if granted != 0 || refused != 1000 {
						t.Fatalf("fail closed: %d granted, %d refused", granted, refused)
					}
				case FallBackLocal:
					// The local share: burst 1000/4, no time passed.
					if granted != 250 || refused != 0 {
						t.Fatalf("fall back: %d granted (want the burst share 250), %d refused", granted, refused)
					}
				}
				if !q.Stats().Degraded {
					t.Fatal("not degraded")
				}
				g.mu.Lock()
				g.err = nil
				g.mu.Unlock()
				time.Sleep(time.Second)
				if d, err := q.TakeQuota(ctx, "api.example.com"); d != 0 || err != nil {
					t.Fatalf("after recovery: %v, %v", d, err)
				}
				if q.Stats().Degraded || len(g.calls()) != 3 {
					t.Fatalf("after recovery: %+v, %d calls", q.Stats(), len(g.calls()))
				}
			})
		})
	}
}

func TestQuotaUnlimitedHostsSkipRedis(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newFakeGCRA(1, 1)
		q := fakeQuota(t, g, QuotaOptions{Hosts: []QuotaLimit{
			{Pattern: "free.example.com"},
			{Pattern: "*.example.com", Rate: 1},
		}})
		for _, host := range []string{"free.example.com", "other.test", "example.com"} {
			for range 100 {
				if d, err := q.TakeQuota(context.Background(), host); d != 0 || err != nil {
					t.Fatalf("%s: %v, %v", host, d, err)
				}
			}
		}
		if n := len(g.calls()); n != 0 {
			t.Fatalf("%d Redis calls for hosts without a quota", n)
		}
		if d, _ := q.TakeQuota(context.Background(), "API.example.com"); d != 0 {
			t.Fatal("first request refused")
		}
		if d, _ := q.TakeQuota(context.Background(), "api.example.com"); d == 0 {
			t.Fatal("pattern not matched: second request within 1/s granted")
		}
	})
}

func TestQuotaMaxHosts(t *testing.T) {
	g := newFakeGCRA(1e6, 1e6)
	q := fakeQuota(t, g, QuotaOptions{Limit: QuotaLimit{Rate: 1e6}, MaxHosts: 8})
	for i := range 100 {
		q.TakeQuota(context.Background(), fmt.Sprintf("h%d.example.com", i))
	}
	if n := len(*q.hosts.Load()); n > 8 {
		t.Fatalf("%d hosts tracked, MaxHosts 8", n)
	}
}

// TestQuotaMaxHostsKeepsFallbackBounded: while Redis is down, a host
// whose state the full host table dropped got a new local bucket with a
// full burst on its next request, so hosts taken in turn each got a burst
// again and again: no bound at all. (The table dropped every state without
// a live lease, local buckets included.) Now a state whose local bucket is
// in use stays, and hosts past MaxHosts share one overflow bucket per
// limit: every host, and the hosts past the table together, get at most one
// burst share with no time passing.
func TestQuotaMaxHostsKeepsFallbackBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newFakeGCRA(10, 10)
		g.err = errors.New("redis: connection refused")
		const burst = 10
		q := fakeQuota(t, g, QuotaOptions{Limit: QuotaLimit{Rate: 10, Burst: burst}, MaxHosts: 2,
			ExpectedReplicas: 1, ProbeInterval: time.Hour})
		ctx := context.Background()
		hosts := []string{"a.example.com", "b.example.com", "c.example.com", "d.example.com"}
		granted := map[string]int{}
		for range 5 {
			for _, h := range hosts {
				for range 2 * burst {
					if d, err := q.TakeQuota(ctx, h); d == 0 && err == nil {
						granted[h]++
					}
				}
			}
		}
		total := 0
		for _, h := range hosts {
			if granted[h] > burst {
				t.Errorf("%s granted %d with no time passing, more than its burst share %d", h, granted[h], burst)
			}
			total += granted[h]
		}
		// Two hosts in the table, the others share one overflow bucket.
		if total > 3*burst {
			t.Errorf("%d granted in all, more than 3 bursts (2 hosts kept, 1 overflow bucket)", total)
		}
		if n := len(*q.hosts.Load()); n > 2 {
			t.Errorf("%d hosts tracked, MaxHosts 2", n)
		}
	})
}

func TestQuotaConfigErrors(t *testing.T) {
	c := quotaNoRedis
	for _, tc := range []struct {
		opts  QuotaOptions
		field string
	}{
		{QuotaOptions{Limit: QuotaLimit{Rate: -1}, ExpectedReplicas: 1}, "Limit.Rate"},
		{QuotaOptions{Limit: QuotaLimit{Rate: 1, Period: -time.Second}, ExpectedReplicas: 1}, "Limit.Period"},
		{QuotaOptions{Limit: QuotaLimit{Rate: 1, Period: time.Microsecond}, ExpectedReplicas: 1}, "Limit.Period"},
		{QuotaOptions{Limit: QuotaLimit{Rate: 1, Burst: -1}, ExpectedReplicas: 1}, "Limit.Burst"},
		{QuotaOptions{Limit: QuotaLimit{Rate: 2_000_000}, ExpectedReplicas: 1}, "Limit.Rate"},
		{QuotaOptions{Limit: QuotaLimit{Burst: 5}, ExpectedReplicas: 1}, "Limit.Burst"},
		{QuotaOptions{Limit: QuotaLimit{Key: "k"}, ExpectedReplicas: 1}, "Limit.Key"},
		{QuotaOptions{Hosts: []QuotaLimit{{Rate: 1}}, ExpectedReplicas: 1}, "Hosts[0].Pattern"},
		{QuotaOptions{Hosts: []QuotaLimit{{Pattern: "a", Rate: 1}, {Pattern: "api.*.com", Rate: 1}}, ExpectedReplicas: 1}, "Hosts[1].Pattern"},
		{QuotaOptions{Hosts: []QuotaLimit{{Pattern: "*.", Rate: 1}}, ExpectedReplicas: 1}, "Hosts[0].Pattern"},
		{QuotaOptions{Hosts: []QuotaLimit{{Pattern: "api.example.com:443", Rate: 1}}, ExpectedReplicas: 1}, "Hosts[0].Pattern"},
		{QuotaOptions{Hosts: []QuotaLimit{{Pattern: "*.example.com:80", Rate: 1}}, ExpectedReplicas: 1}, "Hosts[0].Pattern"},
		{QuotaOptions{Hosts: []QuotaLimit{{Pattern: "bücher.example", Rate: 1}}, ExpectedReplicas: 1}, "Hosts[0].Pattern"},
		{QuotaOptions{LeaseTTL: -1, ExpectedReplicas: 1}, "LeaseTTL"},
		{QuotaOptions{LeaseTTL: time.Microsecond, ExpectedReplicas: 1}, "LeaseTTL"},
		{QuotaOptions{MinBatch: -1, ExpectedReplicas: 1}, "MinBatch"},
		{QuotaOptions{MaxBatch: -1, ExpectedReplicas: 1}, "MaxBatch"},
		{QuotaOptions{MinBatch: 20, MaxBatch: 10, ExpectedReplicas: 1}, "MinBatch"},
		{QuotaOptions{ExpectedReplicas: -1}, "ExpectedReplicas"},
		{QuotaOptions{}, "ExpectedReplicas"},
		{QuotaOptions{Policy: FallBackLocal}, "ExpectedReplicas"},
		{QuotaOptions{MaxHosts: -1, ExpectedReplicas: 1}, "MaxHosts"},
		{QuotaOptions{Timeout: -1, ExpectedReplicas: 1}, "Timeout"},
		{QuotaOptions{ProbeInterval: -1, ExpectedReplicas: 1}, "ProbeInterval"},
		{QuotaOptions{Policy: 9, ExpectedReplicas: 1}, "Policy"},
		// One Key, one limit: a Key given again with another limit would
		// apply whichever entry's host this replica saw first.
		{QuotaOptions{Hosts: []QuotaLimit{{Pattern: "a.example", Key: "k", Rate: 10}, {Pattern: "b.example", Key: "k", Rate: 1000}}, ExpectedReplicas: 1}, "Hosts[1].Key"},
		{QuotaOptions{Hosts: []QuotaLimit{{Pattern: "a.example", Key: "k", Rate: 10}, {Pattern: "b.example", Key: "k", Rate: 10, Burst: 5}}, ExpectedReplicas: 1}, "Hosts[1].Key"},
		{QuotaOptions{Hosts: []QuotaLimit{{Pattern: "a.example", Key: "k", Rate: 10}, {Pattern: "b.example", Key: "k", Rate: 10, Period: time.Minute}}, ExpectedReplicas: 1}, "Hosts[1].Key"},
		{QuotaOptions{Limit: QuotaLimit{Key: "k", Rate: 10}, Hosts: []QuotaLimit{{Pattern: "b.example", Key: "k", Rate: 20}}, ExpectedReplicas: 1}, "Hosts[0].Key"},
	} {
		_, err := NewQuota(c, tc.opts)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.field {
			t.Errorf("%+v: %v, want a ConfigError for %s", tc.opts, err, tc.field)
		}
	}
	if _, err := NewQuota(nil, QuotaOptions{Policy: FailClosed}); err == nil {
		t.Error("nil client accepted")
	}
	noTimeout := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer noTimeout.Close()
	if _, err := NewQuota(noTimeout, QuotaOptions{Policy: FailClosed}); err == nil {
		t.Error("client without ContextTimeoutEnabled accepted")
	}
	if _, err := NewQuota(c, QuotaOptions{Policy: FailClosed}); err != nil {
		t.Errorf("FailClosed needs no ExpectedReplicas: %v", err)
	}
	// The same limit under one Key, spelt out or by its defaults, is fine.
	if _, err := NewQuota(c, QuotaOptions{Limit: QuotaLimit{Key: "k", Rate: 10},
		Hosts: []QuotaLimit{{Pattern: "b.example", Key: "k", Rate: 10, Burst: 10, Period: time.Second}}, ExpectedReplicas: 1}); err != nil {
		t.Errorf("one Key with one limit refused: %v", err)
	}
}

// saturatedCallBound is the most Redis calls the leasing design allows
// replicas hammering a saturated quota for window to make while granting
// granted requests: after a lease that came back short a replica waits
// (half to all of LeaseTTL once the wait has grown, so at most 2 / LeaseTTL
// leases per second), plus about 10 leases each while the batch grows from
// 1 to its cap, plus leases that came back with at least half of their
// batch (batches reach 12 to 25 tokens in these tests), at most
// granted / 4.
func saturatedCallBound(replicas int, window, ttl time.Duration, granted int64) int64 {
	return int64(replicas)*(int64(2*window/ttl)+10) + granted/4
}

// quotaHammer runs workers goroutines per quota taking host's quota until
// window has passed, sleeping for the retry time TakeQuota gives. It
// returns the grants per quota that returned before the window ended.
func quotaHammer(t *testing.T, qs []*Quota, host string, workers int, window time.Duration) []int64 {
	t.Helper()
	counts := make([]atomic.Int64, len(qs))
	end := time.Now().Add(window)
	var wg sync.WaitGroup
	for i, q := range qs {
		for range workers {
			wg.Go(func() {
				for {
					now := time.Now()
					if !now.Before(end) {
						return
					}
					ctx, cancel := context.WithDeadline(context.Background(), end)
					d, err := q.TakeQuota(ctx, host)
					cancel()
					switch {
					case err != nil && !errors.Is(err, context.DeadlineExceeded):
						t.Errorf("replica %d: %v", i, err)
						return
					case err != nil:
					case d == 0:
						if time.Now().Before(end) {
							counts[i].Add(1)
						}
					default:
						time.Sleep(min(d, time.Until(end)))
					}
				}
			})
		}
	}
	noHang(t, "hammering replicas", wg.Wait)
	out := make([]int64, len(qs))
	for i := range counts {
		out[i] = counts[i].Load()
	}
	return out
}

func sumCounts(xs []int64) int64 {
	var n int64
	for _, x := range xs {
		n += x
	}
	return n
}

func quotaRedisCalls(qs []*Quota) int64 {
	var n int64
	for _, q := range qs {
		n += q.Stats().RedisCalls
	}
	return n
}

// TestQuotaFleetStaysWithinQuota: replicas (each its own Quota and Redis
// client) hammering one host together get no more than the GCRA allows,
// each gets a grant, and they ask Redis far less than once per request.
// Counted, not timed: the quota's Period is an hour, so the fleet may take
// the burst and (almost) nothing more whatever the machine's speed; every
// worker makes a fixed number of takes, each granted or answered with a
// wait; the bounds use the measured duration.
func TestQuotaFleetStaysWithinQuota(t *testing.T) {
	srv := redistest.Start(t)
	const (
		replicas = 6
		workers  = 8
		each     = 50
		rateQ    = 200
		period   = time.Hour
		burst    = 100
		host     = "api.example.com"
	)
	var qs []*Quota
	for range replicas {
		qs = append(qs, newQuota(t, patientClient(t, srv), QuotaOptions{
			Limit:  QuotaLimit{Rate: rateQ, Period: period, Burst: burst},
			Policy: FailClosed, Timeout: time.Minute,
		}))
	}
	counts := make([]atomic.Int64, replicas)
	var waits, other atomic.Int64
	take := func(i int) {
		switch d, err := qs[i].TakeQuota(context.Background(), host); {
		case err != nil:
			other.Add(1)
			t.Errorf("replica %d: %v", i, err)
		case d == 0:
			counts[i].Add(1)
		default:
			waits.Add(1)
		}
	}
	start := time.Now()
	// Each replica's first take, the quota untouched, is granted.
	for i := range qs {
		take(i)
		if counts[i].Load() != 1 {
			t.Errorf("replica %d: first take not granted", i)
		}
	}
	var wg sync.WaitGroup
	for i := range qs {
		for range workers {
			wg.Go(func() {
				for range each {
					take(i)
				}
			})
		}
	}
	noHang(t, "hammering replicas", wg.Wait)
	elapsed := time.Since(start)

	var total, leased int64
	per := make([]int64, replicas)
	for i := range counts {
		per[i] = counts[i].Load()
		total += per[i]
		_, l, _ := qs[i].leaseStats(host)
		leased += l
	}
	calls := quotaRedisCalls(qs)
	attempts := int64(replicas * (workers*each + 1))
	t.Logf("%d replicas, quota %d/%v burst %d, %v: %d takes, granted %d %v, %d waits, %d tokens leased, %d Redis calls",
		replicas, rateQ, period, burst, elapsed.Round(time.Millisecond), attempts, total, per, waits.Load(), leased, calls)

	if n := total + waits.Load() + other.Load(); n != attempts {
		t.Errorf("%d takes answered, want %d", n, attempts)
	}
	bound := burst + int64(math.Ceil(rateQ*float64(elapsed+DefaultLeaseTTL)/float64(period)))
	if total > bound || leased > bound {
		t.Errorf("over-grant: granted %d, Redis leased %d, more than Burst + Rate × (elapsed + LeaseTTL) / Period = %d", total, leased, bound)
	}
	if total > leased {
		t.Errorf("over-grant: granted %d, more than the %d tokens leased", total, leased)
	}
	if cb := saturatedCallBound(replicas, elapsed, DefaultLeaseTTL, total); calls > cb {
		t.Errorf("%d Redis calls, more than the design bound %d", calls, cb)
	}
}

// TestQuotaBatchAdaptsOnRedis: on a real Redis, a replica sending slowly
// leases small batches and one sending fast leases large ones.
func TestQuotaBatchAdaptsOnRedis(t *testing.T) {
	srv := redistest.Start(t)
	q := newQuota(t, srv.Client(), QuotaOptions{Limit: QuotaLimit{Rate: 10000}, Policy: FailClosed})
	ctx := context.Background()

	for range 40 { // about 50/s
		if d, err := q.TakeQuota(ctx, "slow.example.com"); d != 0 || err != nil {
			t.Fatalf("slow: %v, %v", d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for range 5000 {
		if d, err := q.TakeQuota(ctx, "fast.example.com"); d != 0 || err != nil {
			t.Fatalf("fast: %v, %v", d, err)
		}
	}
	sl, sTok, _ := q.leaseStats("slow.example.com")
	fl, fTok, _ := q.leaseStats("fast.example.com")
	slowBatch, fastBatch := float64(sTok)/float64(sl), float64(fTok)/float64(fl)
	t.Logf("slow (≤50/s): %d leases, %.1f tokens each; fast: %d leases, %.1f tokens each", sl, slowBatch, fl, fastBatch)
	if slowBatch > 10 {
		t.Errorf("slow replica leases %.1f tokens per batch, want small (≤ 10)", slowBatch)
	}
	if fastBatch < 100 || fastBatch < 10*slowBatch {
		t.Errorf("fast replica leases %.1f tokens per batch, want ≥ 100 and ≥ 10× the slow one's", fastBatch)
	}
	if fl > 5000/100 {
		t.Errorf("5,000 fast requests made %d leases", fl)
	}
}

// TestQuotaSharedKey: hosts under one Key draw from one quota.
func TestQuotaSharedKey(t *testing.T) {
	srv := redistest.Start(t)
	opts := QuotaOptions{
		Hosts:  []QuotaLimit{{Pattern: "*.example.com", Key: "example", Rate: 10, Period: time.Hour}},
		Limit:  QuotaLimit{Rate: 10, Period: time.Hour},
		Prefix: "svc:", Policy: FailClosed,
	}
	a, b := newQuota(t, srv.Client(), opts), newQuota(t, srv.Client(), opts)
	granted := 0
	for i := range 100 {
		q, host := a, "a.example.com"
		if i%2 == 1 {
			q, host = b, "b.example.com"
		}
		if d, err := q.TakeQuota(context.Background(), host); err != nil {
			t.Fatal(err)
		} else if d == 0 {
			granted++
		}
	}
	if granted != 10 {
		t.Fatalf("two replicas on two hosts of one Key got %d, want the shared 10", granted)
	}
	// Another host has its own quota.
	if d, _ := a.TakeQuota(context.Background(), "other.test"); d != 0 {
		t.Fatal("other host refused")
	}
	for _, k := range []string{"rate:svc:quota:key/example", "rate:svc:quota:other.test"} {
		if n, err := srv.Client().Exists(context.Background(), k).Result(); err != nil || n != 1 {
			t.Errorf("key %s: %d, %v", k, n, err)
		}
	}
}

// TestQuotaKeyApartFromHosts: a quota's Key and a host of the same name
// (a single-label host such as a Kubernetes service) are two quotas, not
// one Redis key with two limits: exhausting the Key's small quota must not
// refuse the host, nor the host's the Key's.
func TestQuotaKeyApartFromHosts(t *testing.T) {
	srv := redistest.Start(t)
	q := newQuota(t, srv.Client(), QuotaOptions{
		Hosts:  []QuotaLimit{{Pattern: "*.example.com", Key: "payments", Rate: 2, Period: time.Hour}},
		Limit:  QuotaLimit{Rate: 1000, Period: time.Hour},
		Policy: FailClosed,
	})
	ctx := context.Background()
	granted := 0
	for range 5 {
		if d, err := q.TakeQuota(ctx, "a.example.com"); err != nil {
			t.Fatal(err)
		} else if d == 0 {
			granted++
		}
	}
	if granted != 2 {
		t.Fatalf("the Key's quota granted %d, want 2", granted)
	}
	for i := range 10 {
		if d, err := q.TakeQuota(ctx, "payments"); err != nil || d != 0 {
			t.Fatalf("host \"payments\" (its own quota of 1000/h), request %d: %v, %v", i, d, err)
		}
	}
}

// TestQuotaRedisKilledFailClosed: with Redis gone, a fail-closed fleet
// refuses with the typed error once its leases are used, never hangs, and
// leases again after Redis is back.
func TestQuotaRedisKilledFailClosed(t *testing.T) {
	srv := redistest.Start(t)
	mp, degraded := meter(t)
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	opts := QuotaOptions{Limit: QuotaLimit{Rate: 200, Burst: 100}, Policy: FailClosed,
		Timeout: 100 * time.Millisecond, ProbeInterval: 50 * time.Millisecond, MeterProvider: mp}
	qs := []*Quota{newQuota(t, srv.Client(), opts), newQuota(t, srv.Client(), opts)}
	if total := sumCounts(quotaHammer(t, qs, "api.example.com", 4, 300*time.Millisecond)); total == 0 {
		t.Fatal("nothing granted before the outage")
	}

	srv.Kill()
	for i, q := range qs {
		var refusal error
		noHang(t, "TakeQuota while Redis is down", func() {
			// Leased tokens (at most a batch) may be used first.
			// A replica whose last lease was short waits (d > 0)
			// before asking Redis.
			for range 1000 {
				d, err := q.TakeQuota(context.Background(), "api.example.com")
				if err != nil {
					refusal = err
					return
				}
				time.Sleep(d)
			}
		})
		var fe *Error
		if !errors.Is(refusal, transport.ErrRateLimited) || !errors.Is(refusal, ErrUnavailable) || !errors.As(refusal, &fe) {
			t.Fatalf("replica %d: %v, want an *Error matching ErrRateLimited and ErrUnavailable", i, refusal)
		}
	}
	ctx, span := tp.Tracer("t").Start(context.Background(), "call")
	if _, err := qs[0].TakeQuota(ctx, "api.example.com"); !errors.Is(err, transport.ErrRateLimited) {
		t.Fatalf("refusal %v", err)
	}
	span.End()
	if !quotaSpanEvent(sr, EventDegraded) {
		t.Error("no degraded span event")
	}
	if degraded("lease") != 2 {
		t.Fatalf("degraded metric %d, want 2", degraded("lease"))
	}
	callsDown := quotaRedisCalls(qs)

	srv.Restart()
	for i, q := range qs {
		eventually(t, fmt.Sprintf("replica %d leasing again", i), func() bool {
			d, err := q.TakeQuota(context.Background(), "api.example.com")
			return err == nil && d == 0
		})
		if q.Stats().Degraded {
			t.Errorf("replica %d still degraded", i)
		}
	}
	if quotaRedisCalls(qs) <= callsDown || degraded("lease") != 0 {
		t.Fatalf("after restart: calls %d (were %d), metric %d", quotaRedisCalls(qs), callsDown, degraded("lease"))
	}
}

// TestQuotaRedisPausedTimesOut: a hung Redis costs one Timeout, reported
// as context.DeadlineExceeded.
func TestQuotaRedisPausedTimesOut(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client()
	q := newQuota(t, c, QuotaOptions{Limit: QuotaLimit{Rate: 100}, Policy: FailClosed,
		Timeout: patientTimeout, ProbeInterval: time.Hour})
	// The first lease (and its dial) with time to spare, then a short
	// Timeout for the calls on the paused Redis.
	if d, err := q.TakeQuota(context.Background(), "api.example.com"); d != 0 || err != nil {
		t.Fatalf("before: %v, %v", d, err)
	}
	// (That lease is full: no lease ahead runs.)
	shortTimeout(q.h, 100*time.Millisecond)
	srv.Pause()
	defer srv.Resume()
	var err error
	noHang(t, "TakeQuota on a paused Redis", func() {
		// A new host has no lease: it must ask Redis.
		_, err = q.TakeQuota(context.Background(), "other.example.com")
	})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, transport.ErrRateLimited) {
		t.Fatalf("paused Redis: %v", err)
	}
	calls := q.Stats().RedisCalls
	for range 100 {
		q.TakeQuota(context.Background(), "other.example.com")
	}
	if q.Stats().RedisCalls != calls {
		t.Fatalf("marked down, yet %d more Redis calls", q.Stats().RedisCalls-calls)
	}
}

// TestQuotaRedisKilledFallsBackLocal: with Redis gone, each replica grants
// at most its local share (quota / ExpectedReplicas) plus what is left of
// its lease; after the restart the replicas lease again.
func TestQuotaRedisKilledFallsBackLocal(t *testing.T) {
	srv := redistest.Start(t)
	const (
		replicas = 4
		rateQ    = 200
		burst    = 40
		window   = time.Second
	)
	// Timeout 1s: no spurious timeout before the outage (a killed Redis
	// refuses connections at once).
	opts := QuotaOptions{Limit: QuotaLimit{Rate: rateQ, Burst: burst}, ExpectedReplicas: replicas,
		Timeout: time.Second, ProbeInterval: time.Hour}
	var qs []*Quota
	for range replicas {
		qs = append(qs, newQuota(t, srv.Client(), opts))
	}
	if total := sumCounts(quotaHammer(t, qs, "api.example.com", 4, 300*time.Millisecond)); total == 0 {
		t.Fatal("nothing granted before the outage")
	}
	srv.Kill()
	counts := quotaHammer(t, qs, "api.example.com", 4, window)
	t.Logf("Redis down, %d replicas, local share %d/s burst %d each, %v: %v", replicas, rateQ/replicas, burst/replicas, window, counts)
	// Per replica: the local bucket (burst share + rate share × window,
	// 2% for the clock) plus a lease leftover (at most Burst/4 tokens).
	per := float64(burst/replicas) + float64(rateQ)/replicas*window.Seconds()*1.02 + float64(burst/4)
	for i, c := range counts {
		if float64(c) > per {
			t.Errorf("replica %d granted %d while Redis was down, more than its share %.0f", i, c, per)
		}
		if c == 0 {
			t.Errorf("replica %d granted nothing while Redis was down (fail open)", i)
		}
		if !qs[i].Stats().Degraded {
			t.Errorf("replica %d not degraded", i)
		}
	}
	// ProbeInterval is an hour: one failed call per replica, no more.
	for i, q := range qs {
		if s := q.Stats(); s.RedisErrors != 1 {
			t.Errorf("replica %d: %+v, want exactly one failed call", i, s)
		}
	}
	srv.Restart()
	for _, q := range qs {
		q.h.nextProbe.Store(0) // probe now rather than in an hour
	}
	before := quotaRedisCalls(qs)
	counts = quotaHammer(t, qs, "api.example.com", 4, 500*time.Millisecond)
	for i, q := range qs {
		if q.Stats().Degraded {
			t.Errorf("replica %d still degraded after restart", i)
		}
	}
	if quotaRedisCalls(qs) <= before || sumCounts(counts) == 0 {
		t.Fatalf("no leasing after restart: calls %d → %d, granted %v", before, quotaRedisCalls(qs), counts)
	}
}

func quotaSpanEvent(sr *tracetest.SpanRecorder, name string) bool {
	for _, s := range sr.Ended() {
		for _, e := range s.Events() {
			if e.Name == name {
				return true
			}
		}
	}
	return false
}

// TestQuotaThroughClients: replicas built with client.New and
// WithSharedQuota (each its own Quota and Redis client) calling one TLS
// server. Everything is counted, nothing is timed: the quota's Period is
// an hour, so over the test the fleet may send the burst and (almost)
// nothing more whatever the machine's speed, and a fixed number of
// attempts each ends granted (counted at the server) or refused with
// ErrRateLimited. Grants are bounded by Burst + Rate × (elapsed +
// LeaseTTL) / Period with elapsed measured, Redis's grants likewise, and
// no replica sends more than Redis leased it. Each replica gets its
// share first (one request each while the quota is untouched). The same
// run with the Redis accounting broken (every lease granted in full) is
// caught as an over-grant, so the bounds can fail.
func TestQuotaThroughClients(t *testing.T) {
	srv := redistest.Start(t)
	r := quotaThroughClients(t, srv, "", false)
	if v := r.violations(); len(v) > 0 {
		for _, s := range v {
			t.Error(s)
		}
	}

	// The same run with an accounting that over-grants must be caught.
	broken := quotaThroughClients(t, srv, "broken", true)
	if v := broken.violations(); len(v) == 0 || broken.hits <= broken.bound {
		t.Errorf("with every lease granted in full (server got %d, bound %d), the checks found nothing: %v", broken.hits, broken.bound, v)
	}
}

// quotaClientsRun is what one run of TestQuotaThroughClients counted.
type quotaClientsRun struct {
	attempts, granted, refused, other int64
	hits                              int64   // requests the server got
	leased                            int64   // tokens Redis granted, all replicas
	perReplica                        []int64 // granted, per replica
	firsts                            []error // each replica's first request
	bound                             int64   // Burst + Rate × (elapsed + LeaseTTL) / Period
	redisErrors                       int64
	errs                              []error // unexpected errors (at most a few)
}

// violations lists what the run got wrong.
func (r quotaClientsRun) violations() []string {
	var v []string
	if r.hits > r.bound {
		v = append(v, fmt.Sprintf("over-grant: server got %d, more than Burst + Rate × (elapsed + LeaseTTL) / Period = %d", r.hits, r.bound))
	}
	if r.leased > r.bound {
		v = append(v, fmt.Sprintf("over-grant: Redis leased %d tokens, more than %d", r.leased, r.bound))
	}
	if r.hits > r.leased {
		v = append(v, fmt.Sprintf("over-grant: server got %d, more than the %d tokens leased", r.hits, r.leased))
	}
	if r.hits != r.granted {
		v = append(v, fmt.Sprintf("server got %d, clients saw %d granted", r.hits, r.granted))
	}
	if r.granted+r.refused != r.attempts || r.other != 0 {
		v = append(v, fmt.Sprintf("%d attempts: %d granted + %d refused with ErrRateLimited, %d other errors %v", r.attempts, r.granted, r.refused, r.other, r.errs))
	}
	for i, err := range r.firsts {
		if err != nil {
			v = append(v, fmt.Sprintf("replica %d: first request (quota untouched) refused: %v", i, err))
		}
	}
	for i, n := range r.perReplica {
		if n == 0 {
			v = append(v, fmt.Sprintf("replica %d got no grant", i))
		}
	}
	if r.redisErrors != 0 {
		v = append(v, fmt.Sprintf("%d Redis calls failed", r.redisErrors))
	}
	return v
}

// quotaThroughClients runs the replicas on srv against a new TLS server:
// one request per replica in turn, then every worker a fixed number of
// requests at once. With broken, each Quota's leases bypass Redis and are
// granted in full.
func quotaThroughClients(t *testing.T, srv *redistest.Server, name string, broken bool) quotaClientsRun {
	t.Helper()
	const (
		replicas = 4
		workers  = 6
		each     = 20 // requests per worker
		rateQ    = 100
		period   = time.Hour
		burst    = 60
	)
	var hits atomic.Int64
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer api.Close()
	roots := x509.NewCertPool()
	roots.AddCert(api.Certificate())
	// Any wait for the quota is refused at once (a *RateLimitError): at
	// this quota a wait is at least LeaseTTL, and counting what is
	// refused needs no clock.
	res := transport.StandardPreset()
	res.Throttle.MaxWait = time.Nanosecond

	r := quotaClientsRun{perReplica: make([]int64, replicas), firsts: make([]error, replicas)}
	var qs []*Quota
	var cs []*client.Client
	for range replicas {
		// Timeout: Redis is up throughout; a long one only waits longer
		// on a slow machine.
		q := newQuota(t, patientClient(t, srv), QuotaOptions{
			Limit:  QuotaLimit{Key: "clients" + name, Rate: rateQ, Period: period, Burst: burst},
			Policy: FailClosed, Timeout: time.Minute,
		})
		if broken {
			q.allow = func(_ context.Context, _ string, _ redis_rate.Limit, n int) (*redis_rate.Result, error) {
				return &redis_rate.Result{Allowed: n, Remaining: n}, nil
			}
		}
		c, err := client.New(
			client.WithOrigins(api.URL),
			client.WithTLSConfig(&tls.Config{RootCAs: roots}),
			client.WithAllowedNetworks(netip.MustParsePrefix("127.0.0.0/8")),
			client.WithResilience(res),
			client.WithMaxAttempts(1),
			client.WithSharedQuota(q),
		)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		qs, cs = append(qs, q), append(cs, c)
	}

	var mu sync.Mutex
	do := func(i int, c *client.Client) error {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, api.URL+"/v1/items", nil)
		resp, err := c.Do(req)
		mu.Lock()
		defer mu.Unlock()
		r.attempts++
		switch {
		case err == nil:
			resp.Body.Close()
			r.granted++
			r.perReplica[i]++
		case errors.Is(err, client.ErrRateLimited) && !errors.Is(err, ErrUnavailable):
			r.refused++
		default:
			r.other++
			if len(r.errs) < 3 {
				r.errs = append(r.errs, err)
			}
		}
		return err
	}

	start := time.Now()
	for i, c := range cs {
		r.firsts[i] = do(i, c)
	}
	var wg sync.WaitGroup
	for i, c := range cs {
		for range workers {
			wg.Go(func() {
				for range each {
					do(i, c)
				}
			})
		}
	}
	noHang(t, "replica clients", wg.Wait)
	elapsed := time.Since(start)

	r.hits = hits.Load()
	r.bound = burst + int64(math.Ceil(rateQ*float64(elapsed+DefaultLeaseTTL)/float64(period)))
	for _, q := range qs {
		r.redisErrors += q.Stats().RedisErrors
		_, l, _ := q.leaseStats(api.Listener.Addr().String())
		r.leased += l
	}
	t.Logf("%s: %d client replicas, quota %d/%v burst %d, %v: %d attempts, server got %d %v, %d refused, %d tokens leased, bound %d",
		map[bool]string{false: "sound", true: "broken"}[broken], replicas, rateQ, period, burst, elapsed.Round(time.Millisecond),
		r.attempts, r.hits, r.perReplica, r.refused, r.leased, r.bound)
	return r
}

// TestQuotaLeasesAhead: when a quarter of a lease is left, the next one is
// asked for in the background, so a replica whose demand the quota serves
// never waits for Redis: the lease that ran out is replaced by the one
// leased ahead without a Redis call on the request's path.
func TestQuotaLeasesAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, q, take := leaseAheadRig(t)
		take(1) // the first lease, on the request's path
		synctest.Wait()
		if c := g.calls(); len(c) != 1 || c[0] != 100 {
			t.Fatalf("leases %v, want one of 100", c)
		}
		take(73) // 26 left: nothing yet
		synctest.Wait()
		if n := len(g.calls()); n != 1 {
			t.Fatalf("%d leases with 26 tokens left, want 1", n)
		}
		take(1) // 25 left: a quarter, the next lease is asked for
		synctest.Wait()
		if n := len(g.calls()); n != 2 {
			t.Fatalf("%d leases once a quarter was left, want 2 (one ahead)", n)
		}
		take(25) // the first lease runs out
		take(1)  // served from the lease taken ahead: no Redis call now
		if n := len(g.calls()); n != 2 {
			t.Fatalf("%d leases after the first ran out, want 2: the request waited for Redis", n)
		}
		if leases, leased, _ := q.leaseStats("api.example.com"); leases != 2 || leased != 200 {
			t.Fatalf("lease stats %d/%d", leases, leased)
		}
	})
}

// TestQuotaLeaseAheadAfterPause: a lease taken ahead that expired unused
// (traffic paused) is dropped, and leasing ahead resumes with the traffic:
// the next lease again comes without a Redis call on a request's path.
func TestQuotaLeaseAheadAfterPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _, take := leaseAheadRig(t)
		take(75) // lease 1, ahead lease asked for at 25 left
		synctest.Wait()
		if n := len(g.calls()); n != 2 {
			t.Fatalf("%d calls, want 2", n)
		}
		time.Sleep(time.Second) // traffic pauses: both leases expire unused
		take(1)                 // lease 3, on the request path (expected)
		synctest.Wait()
		take(74) // 25 left: an ahead lease should be asked for
		synctest.Wait()
		if calls := len(g.calls()); calls != 4 {
			t.Fatalf("%d leases after lease 3 reached its low-water mark, want 4 (one ahead)", calls)
		}
		take(25)
		before := len(g.calls())
		take(1)
		if after := len(g.calls()); after != before {
			t.Errorf("lease 4 taken on the request path (%d -> %d Redis calls): lease-ahead is dead", before, after)
		}
	})
}

// TestQuotaBatchAtSteadyDemandWithLeaseAhead: with leases taken ahead, a
// lease's demand is measured from when it became current, so at a steady
// 2,000/s the batch settles at LeaseTTL/2 × 2,000/s = 200 (not lower,
// which would mean more Redis calls than the design says).
func TestQuotaBatchAtSteadyDemandWithLeaseAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newFakeGCRA(1e6, 1e6)
		q := fakeQuota(t, g, QuotaOptions{Limit: QuotaLimit{Rate: 1e6}})
		ctx := context.Background()
		for range 4000 { // 2,000/s for 2 s
			if d, err := q.TakeQuota(ctx, "api.example.com"); d != 0 || err != nil {
				t.Fatalf("TakeQuota = %v, %v", d, err)
			}
			time.Sleep(500 * time.Microsecond)
		}
		c := g.calls()
		if last := c[len(c)-1]; last < 180 || last > 220 {
			t.Fatalf("batch %d at 2,000/s, want about 200 (leases %v)", last, c)
		}
	})
}

// leaseAheadRig is a Quota over a fake GCRA leasing exactly 100 tokens at
// a time, and a function taking n tokens that must all be granted at once.
func leaseAheadRig(t *testing.T) (*fakeGCRA, *Quota, func(n int)) {
	g := newFakeGCRA(100000, 100000)
	q := fakeQuota(t, g, QuotaOptions{Limit: QuotaLimit{Rate: 100000, Burst: 100000}, MinBatch: 100, MaxBatch: 100})
	return g, q, func(n int) {
		t.Helper()
		for range n {
			if d, err := q.TakeQuota(context.Background(), "api.example.com"); d != 0 || err != nil {
				t.Fatalf("TakeQuota = %v, %v", d, err)
			}
		}
	}
}

// TestQuotaPatternTrailingDot: a Pattern written with the name's trailing
// dot ("api.example.com.", the fully qualified form) matches the host, as
// the throttle's HostLimit.Pattern does: transport.HostKey drops a host's
// trailing dot, so the quota silently did not apply to the host the same
// pattern limits in ThrottleConfig.Hosts (the fleet then sent without a
// fleet-wide limit).
func TestQuotaPatternTrailingDot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for pattern, host := range map[string]string{
			"api.example.com.":  "api.example.com",
			"*.corp.example.":   "a.corp.example",
			"svc.example.:8443": "svc.example:8443",
		} {
			// A GCRA of its own per host: the fake shares one bucket
			// across keys.
			q := fakeQuota(t, newFakeGCRA(1, 1), QuotaOptions{Hosts: []QuotaLimit{{Pattern: pattern, Rate: 1}}})
			if d, err := q.TakeQuota(context.Background(), host); d != 0 || err != nil {
				t.Fatalf("%s: first request: %v, %v", host, d, err)
			}
			if d, _ := q.TakeQuota(context.Background(), host); d == 0 {
				t.Errorf("%s: pattern not matched: second request within 1/s granted", host)
			}
		}
	})
}
