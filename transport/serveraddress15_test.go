package transport_test

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// serverAttrCases: what the semantic conventions' server.address and
// server.port say of a URL: the host alone (an IPv6 literal without its
// brackets) and the port in server.port, as the trace layers report it.
var serverAttrCases = []struct {
	url  string
	addr string
	port int64 // 0: none (the scheme's default, which the host key drops)
}{
	{"https://api.example:8443/x", "api.example", 8443},
	{"https://[2001:db8::1]/x", "2001:db8::1", 0},
	{"http://[2001:db8::2]:8080/x", "2001:db8::2", 8080},
	{"https://plain.example/x", "plain.example", 0},
}

func checkServerAttrs(t *testing.T, what string, s attribute.Set, addr string, port int64) {
	t.Helper()
	if v, _ := s.Value("server.address"); v.AsString() != addr {
		t.Errorf("%s: server.address %q, want %q (set %v)", what, v.String(), addr, s.ToSlice())
	}
	v, ok := s.Value("server.port")
	switch {
	case port == 0 && ok:
		t.Errorf("%s: server.port %v, want none (set %v)", what, v.String(), s.ToSlice())
	case port != 0 && v.AsInt64() != port:
		t.Errorf("%s: server.port %v, want %d (set %v)", what, v.String(), port, s.ToSlice())
	}
}

// metricSets returns the attribute sets of every data point of name.
func metricSets(t *testing.T, reader *sdkmetric.ManualReader, name string) []attribute.Set {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var sets []attribute.Set
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			}
		}
	}
	if len(sets) == 0 {
		t.Fatalf("no data point of %s", name)
	}
	return sets
}

// The resilience layers' metrics and span events named the host by its
// HostKey, port and brackets included ("api.example:8443", "[2001:db8::1]"),
// as server.address: a backend reads server.address as a host name, and
// joins it with http.client.request.duration's ("api.example"), which the
// key never matched.
func TestResilienceServerAddressIsHostOnly(t *testing.T) {
	for _, tc := range serverAttrCases {
		t.Run(tc.url, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				reader := sdkmetric.NewManualReader()
				mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))

				retry := newRetry(t, transporttest.NewResponder(transporttest.Respond(503, ""), transporttest.Respond(200, "")),
					transport.RetryConfig{MeterProvider: mp, Backoff: resFixedBackoff(time.Millisecond)})
				if _, err := resSend(t, t.Context(), retry, tc.url); err != nil {
					t.Fatal(err)
				}
				for _, s := range metricSets(t, reader, transport.MetricRetries) {
					checkServerAttrs(t, transport.MetricRetries, s, tc.addr, tc.port)
				}

				breaker := newBreaker(t, transporttest.NewResponder(transporttest.Respond(500, "")),
					transport.BreakerConfig{ConsecutiveFailures: 1, MeterProvider: mp})
				events := resSpanEvents(t, func(ctx context.Context) {
					resSend(t, ctx, breaker, tc.url)
					resSend(t, ctx, breaker, tc.url)
				})
				if len(events) != 2 {
					t.Fatalf("breaker events %v", events)
				}
				for _, e := range events {
					checkServerAttrs(t, e.Name, attribute.NewSet(e.Attributes...), tc.addr, tc.port)
				}
				for _, s := range metricSets(t, reader, transport.MetricBreakerTransitions) {
					checkServerAttrs(t, transport.MetricBreakerTransitions, s, tc.addr, tc.port)
				}

				throttle := newThrottle(t, transporttest.NewResponder(transporttest.Respond(200, "")),
					transport.ThrottleConfig{MeterProvider: mp, Limit: transport.HostLimit{Rate: 1, Burst: 1}, MaxWait: time.Minute})
				for range 2 {
					if _, err := resSend(t, t.Context(), throttle, tc.url); err != nil {
						t.Fatal(err)
					}
				}
				for _, s := range metricSets(t, reader, transport.MetricThrottleWait) {
					checkServerAttrs(t, transport.MetricThrottleWait, s, tc.addr, tc.port)
				}
			})
		})
	}
}

// The budget-exhausted event names the host as the other events do.
func TestRetryBudgetEventServerAddressIsHostOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tc := serverAttrCases[0]
		next := transporttest.NewResponder(transporttest.Respond(503, ""), transporttest.Respond(503, ""))
		rt := newRetry(t, next, transport.RetryConfig{Backoff: resFixedBackoff(time.Millisecond),
			Budget: transport.BudgetConfig{Ratio: 0.01, MinRetries: 1}})
		var seen bool
		events := resSpanEvents(t, func(ctx context.Context) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tc.url, nil)
			if resp, err := rt.RoundTrip(req); err == nil {
				resp.Body.Close()
			}
		})
		for _, e := range events {
			if e.Name == transport.EventBudgetExhausted {
				seen = true
				checkServerAttrs(t, e.Name, attribute.NewSet(e.Attributes...), tc.addr, tc.port)
			}
		}
		if !seen {
			t.Fatalf("no %s event among %v", transport.EventBudgetExhausted, events)
		}
	})
}
