package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// forgotten returns the value of MetricHostsForgotten per attribute set
// ("layer/busy"); it fails the test on a point carrying any other
// attribute (a host name would be a series per host).
func forgotten(t *testing.T, reader sdkmetric.Reader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != transport.MetricHostsForgotten {
				continue
			}
			if m.Unit != "{host}" {
				t.Errorf("unit %q", m.Unit)
			}
			sum := m.Data.(metricdata.Sum[int64])
			if !sum.IsMonotonic {
				t.Error("not a counter")
			}
			for _, dp := range sum.DataPoints {
				if dp.Attributes.Len() != 2 {
					t.Errorf("attributes %v, want only layer and busy", dp.Attributes.ToSlice())
				}
				layer, _ := dp.Attributes.Value(transport.HostsLayerKey)
				busy, _ := dp.Attributes.Value(transport.HostsBusyKey)
				got[fmt.Sprintf("%s/%t", layer.AsString(), busy.AsBool())] += dp.Value
			}
		}
	}
	return got
}

func forgetGet(t *testing.T, rt http.RoundTripper, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := rt.RoundTrip(req); resp != nil {
		resp.Body.Close()
	}
}

func forgetNext(status func(host string) int) http.RoundTripper {
	return churnRT(func(req *http.Request) (*http.Response, error) {
		h := http.Header{}
		s := status(req.URL.Host)
		if s == 429 {
			h.Set("Retry-After", "3600")
		}
		return &http.Response{StatusCode: s, Header: h, Body: http.NoBody, Request: req}, nil
	})
}

const forgetMax = 4

// Pushing MaxHosts+N idle hosts through the breaker and the retry layer
// forgets N hosts each, counted with busy=false and the layer's name.
func TestHostsForgottenMetricIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		ok := forgetNext(func(string) int { return 200 })
		br := newBreaker(t, ok, transport.BreakerConfig{MaxHosts: forgetMax, MeterProvider: mp})
		rt := newRetry(t, ok, transport.RetryConfig{MaxHosts: forgetMax, MeterProvider: mp})
		const extra = 3
		for i := range forgetMax + extra {
			u := fmt.Sprintf("https://h%d.example/", i)
			forgetGet(t, br, u)
			forgetGet(t, rt, u)
			time.Sleep(2 * time.Second)
		}
		got := forgotten(t, reader)
		want := map[string]int64{"breaker/false": extra, "retry/false": extra}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("forgotten %v, want %v", got, want)
		}
		// Hosts already held cost nothing and count nothing.
		for i := forgetMax; i < forgetMax+extra; i++ {
			u := fmt.Sprintf("https://h%d.example/", i)
			forgetGet(t, br, u)
			forgetGet(t, rt, u)
		}
		if got := forgotten(t, reader); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("after reuse: forgotten %v, want %v", got, want)
		}
	})
}

// A forgotten host whose breaker was open, whose cooldown was in force,
// is counted with busy=true: the protection it had is lifted.
func TestHostsForgottenMetricBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		down := func(code int) func(string) int {
			return func(host string) int {
				if host == "new.example" {
					return 200
				}
				return code
			}
		}
		br := newBreaker(t, forgetNext(down(503)), transport.BreakerConfig{
			MaxHosts: forgetMax, ConsecutiveFailures: 1, OpenTimeout: time.Hour, MeterProvider: mp,
		})
		rt := newRetry(t, forgetNext(down(429)), transport.RetryConfig{
			MaxHosts: forgetMax, MaxRetryAfter: 2 * time.Hour, MeterProvider: mp,
		})
		cd, err := transport.NewCooldownsWith(transport.CooldownsConfig{MaxHosts: forgetMax, MeterProvider: mp})
		if err != nil {
			t.Fatal(err)
		}
		for i := range forgetMax {
			u := fmt.Sprintf("https://h%d.example/", i)
			forgetGet(t, br, u)
			forgetGet(t, rt, u)
			cd.SetCooldown(fmt.Sprintf("h%d.example", i), time.Now().Add(time.Hour))
			time.Sleep(2 * time.Second)
		}
		if got := forgotten(t, reader); len(got) != 0 {
			t.Fatalf("forgotten %v before the registries were full", got)
		}
		// Every host held is busy: the next one forgets one of them.
		forgetGet(t, br, "https://new.example/")
		forgetGet(t, rt, "https://new.example/")
		cd.SetCooldown("new.example", time.Now().Add(time.Hour))
		got := forgotten(t, reader)
		want := map[string]int64{"breaker/true": 1, "cooldowns/true": 1, "retry/true": 1}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("forgotten %v, want %v", got, want)
		}
	})
}

func TestCooldownsConfigRefusesNegativeMaxHosts(t *testing.T) {
	_, err := transport.NewCooldownsWith(transport.CooldownsConfig{MaxHosts: -1})
	var ce *transport.ConfigError
	if !errors.As(err, &ce) || ce.Option != "CooldownsConfig.MaxHosts" {
		t.Errorf("err %v, want a ConfigError naming CooldownsConfig.MaxHosts", err)
	}
}
