package transport_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"golang.org/x/time/rate"
)

// The throttle forgets idle hosts when its table is full, as the breaker
// and the retry layer do, and counts them the same way: layer
// "throttle", busy=false (a host with limit state in force is never
// forgotten; a new host is refused instead, and nothing is counted).
func TestHostsForgottenMetricThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		ok := forgetNext(func(string) int { return 200 })
		th := newThrottle(t, ok, transport.ThrottleConfig{MaxHosts: forgetMax, MeterProvider: mp})
		const extra = 3
		for i := range forgetMax + extra {
			forgetGet(t, th, fmt.Sprintf("https://h%d.example/", i))
			time.Sleep(2 * time.Second)
		}
		want := map[string]int64{"throttle/false": extra}
		if got := forgotten(t, reader); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("forgotten %v, want %v", got, want)
		}
		// Hosts already held count nothing.
		for i := forgetMax; i < forgetMax+extra; i++ {
			forgetGet(t, th, fmt.Sprintf("https://h%d.example/", i))
		}
		if got := forgotten(t, reader); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("after reuse: forgotten %v, want %v", got, want)
		}
	})
}

// A throttle full of hosts whose token buckets are below full refuses a
// new host (Reason ThrottleHosts) and counts nothing: no host was
// forgotten.
func TestHostsForgottenMetricThrottleRefusalNotCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		ok := forgetNext(func(string) int { return 200 })
		th := newThrottle(t, ok, transport.ThrottleConfig{
			MaxHosts:      forgetMax,
			MeterProvider: mp,
			Limit:         transport.HostLimit{Rate: rate.Every(time.Hour), Burst: 1},
		})
		for i := range forgetMax {
			forgetGet(t, th, fmt.Sprintf("https://h%d.example/", i))
		}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://new.example/", nil)
		resp, err := th.RoundTrip(req)
		var rl *transport.RateLimitError
		if resp != nil || !errors.As(err, &rl) || rl.Reason != transport.ThrottleHosts {
			t.Fatalf("new host: %v, %v; want a RateLimitError with Reason %q", resp, err, transport.ThrottleHosts)
		}
		if got := forgotten(t, reader); len(got) != 0 {
			t.Errorf("forgotten %v, want none (the new host is refused)", got)
		}
	})
}
