package fleet

import (
	"io"
	"net/http"
	"testing"

	"golang.org/x/time/rate"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/internal/benchkit"
	"github.com/securecall/securecall/transport"
)

// BenchmarkFleetMode is the per-request cost of fleet mode on the happy
// path: a whole client (every default layer, tracing off so the figure is
// the stores' and not the SDK's) over the in-memory stub, local-only
// against fleet mode (fleet.New on a real redis-server: shared cooldowns,
// breaker state and a leased quota far above the request rate), in the
// same run. The target: fleet within 0.5 µs of local. It reports
// the Redis calls per 1,000 requests.
//
//	BenchmarkFleetMode/{local,fleet}/GET
func BenchmarkFleetMode(b *testing.B) {
	srv := redistest.Start(b)
	f, err := New(srv.Client(), Options{Quota: &QuotaOptions{
		Limit:            QuotaLimit{Pattern: "*", Rate: 1_000_000, Burst: 1_000_000},
		ExpectedReplicas: 1,
	}})
	if err != nil {
		b.Fatal(err)
	}
	common := []client.Option{
		client.WithOrigins("https://api.example.test"),
		client.WithBaseTransport(benchkit.Stub{}),
		client.WithRateLimits(transport.HostLimit{Pattern: "*", Rate: rate.Limit(1e9), Burst: 1 << 20}),
	}
	for _, mode := range []string{"local", "fleet"} {
		opts := common
		if mode == "fleet" {
			opts = append(append([]client.Option(nil), common...), client.WithFleet(f))
		}
		c, err := client.New(opts...)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		b.Run(mode+"/GET", func(b *testing.B) {
			before := fleetCalls(f)
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/items", nil)
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if mode == "fleet" {
				calls := fleetCalls(f) - before
				b.ReportMetric(float64(calls)*1000/float64(b.N), "redis-calls/1000req")
			}
		})
	}
}

// fleetCalls is the Redis calls made by all of f's stores.
func fleetCalls(f *Fleet) int64 {
	return f.Cooldowns().Stats().RedisCalls + f.Breakers().Stats().RedisCalls + f.Quota().Stats().RedisCalls
}
