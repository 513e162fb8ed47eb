package fleet

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/transport"
)

// benchQuota returns a Quota on a fresh redis-server with a quota so large
// that the benchmark never waits: what is measured is the leased path and
// the Redis calls it needs.
func benchQuota(b *testing.B) *Quota {
	b.Helper()
	srv := redistest.Start(b)
	q, err := NewQuota(srv.Client(), QuotaOptions{
		Limit:    QuotaLimit{Rate: 1_000_000_000, Period: time.Hour, Burst: 1_000_000_000},
		MaxBatch: 1_000_000,
		Policy:   FailClosed,
	})
	if err != nil {
		b.Fatal(err)
	}
	return q
}

// reportRedis reports the Redis calls per 1,000 operations.
func reportRedis(b *testing.B, q *Quota, before int64) {
	b.ReportMetric(float64(q.Stats().RedisCalls-before)*1000/float64(b.N), "redis-calls/1k-op")
}

// BenchmarkQuotaTake measures TakeQuota on the leased happy path (the
// batch adapts to the benchmark's rate, up to MaxBatch), serially and
// from parallel goroutines.
func BenchmarkQuotaTake(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		q := benchQuota(b)
		ctx := context.Background()
		q.TakeQuota(ctx, "api.example.com")
		before := q.Stats().RedisCalls
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if d, err := q.TakeQuota(ctx, "api.example.com"); d != 0 || err != nil {
				b.Fatal(d, err)
			}
		}
		reportRedis(b, q, before)
	})
	b.Run("parallel", func(b *testing.B) {
		q := benchQuota(b)
		ctx := context.Background()
		q.TakeQuota(ctx, "api.example.com")
		before := q.Stats().RedisCalls
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if d, err := q.TakeQuota(ctx, "api.example.com"); d != 0 || err != nil {
					b.Error(d, err)
					return
				}
			}
		})
		reportRedis(b, q, before)
	})
}

// TestQuotaTakeAllocs: the leased path allocates nothing. The lease lasts
// an hour and holds 10,000 tokens, so the 501 takes stay on it (no expiry,
// no lease ahead) however slow the machine is.
func TestQuotaTakeAllocs(t *testing.T) {
	srv := redistest.Start(t)
	q := newQuota(t, srv.Client(), QuotaOptions{Limit: QuotaLimit{Rate: 1_000_000}, MinBatch: 10000, LeaseTTL: time.Hour,
		Timeout: patientTimeout, Policy: FailClosed})
	ctx := context.Background()
	q.TakeQuota(ctx, "api.example.com")
	if n := testing.AllocsPerRun(500, func() { q.TakeQuota(ctx, "api.example.com") }); n != 0 {
		t.Fatalf("TakeQuota on a lease: %.1f allocs", n)
	}
}

// stubTransport answers every request with an empty 204 without I/O.
type stubTransport struct{}

func (stubTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusNoContent, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody, ContentLength: 0, Request: req}, nil
}

// BenchmarkThrottleQuota compares the throttle layer with a local per-host
// limit alone against the same limit plus a fleet Quota, on a stub
// transport: the per-request cost of fleet mode's leasing.
func BenchmarkThrottleQuota(b *testing.B) {
	local := transport.HostLimit{Rate: 1e9, Burst: 1e9}
	run := func(b *testing.B, rt http.RoundTripper) {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/v1/items", nil)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			resp, err := rt.RoundTrip(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	b.Run("local", func(b *testing.B) {
		rt, err := transport.NewThrottle(stubTransport{}, transport.ThrottleConfig{Limit: local, DisableAdaptive: true})
		if err != nil {
			b.Fatal(err)
		}
		run(b, rt)
	})
	b.Run("local+quota", func(b *testing.B) {
		q := benchQuota(b)
		rt, err := transport.NewThrottle(stubTransport{}, transport.ThrottleConfig{Limit: local, DisableAdaptive: true, Quota: q})
		if err != nil {
			b.Fatal(err)
		}
		// The first lease (one Redis round trip) is not the happy path.
		resp, err := rt.RoundTrip(mustRequest(b))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		before := q.Stats().RedisCalls
		run(b, rt)
		reportRedis(b, q, before)
	})
	// At a quota the fleet actually reaches (10,000/s, batches capped at
	// 500), with the benchmark sending as fast as the quota lets it: the
	// Redis calls per 1,000 requests of a saturated replica.
	b.Run("local+quota-saturated", func(b *testing.B) {
		srv := redistest.Start(b)
		q, err := NewQuota(srv.Client(), QuotaOptions{Limit: QuotaLimit{Rate: 10000, Burst: 2000}, Policy: FailClosed})
		if err != nil {
			b.Fatal(err)
		}
		rt, err := transport.NewThrottle(stubTransport{}, transport.ThrottleConfig{Limit: local, DisableAdaptive: true, Quota: q, MaxWait: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		before := q.Stats().RedisCalls
		run(b, rt)
		reportRedis(b, q, before)
	})
}

func mustRequest(b *testing.B) *http.Request {
	req, err := http.NewRequest(http.MethodGet, "https://api.example.com/v1/items", strings.NewReader(""))
	if err != nil {
		b.Fatal(err)
	}
	return req
}
