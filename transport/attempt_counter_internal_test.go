package transport

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// attemptSums collects MetricAttempts from r: the value per series, keyed
// by "method host outcome" (or "overflow"); ok is false when the metric
// is absent.
func attemptSums(t *testing.T, r sdkmetric.Reader) (map[string]int64, bool) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != MetricAttempts {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok || !sum.IsMonotonic || sum.Temporality != metricdata.CumulativeTemporality {
				t.Fatalf("%s is %T (monotonic, cumulative wanted)", MetricAttempts, m.Data)
			}
			out := map[string]int64{}
			for _, p := range sum.DataPoints {
				if v, ok := p.Attributes.Value("otel.metric.overflow"); ok && v.AsBool() {
					out["overflow"] += p.Value
					continue
				}
				meth, _ := p.Attributes.Value("http.request.method")
				host, _ := p.Attributes.Value("server.address")
				outc, _ := p.Attributes.Value(OutcomeKey)
				out[meth.AsString()+" "+host.AsString()+" "+outc.AsString()] += p.Value
			}
			return out, true
		}
	}
	return nil, false
}

func newCounter(t *testing.T) (*attemptCounter, sdkmetric.Reader) {
	t.Helper()
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	c := new(attemptCounter)
	c.register(mp.Meter("test"))
	if !c.on {
		t.Fatal("counter off on an SDK meter")
	}
	return c, r
}

// Concurrent sends are all counted, per series, with no lock on the
// counted path (-race checks the atomics and the copy-on-write map).
func TestAttemptCounterConcurrent(t *testing.T) {
	c, r := newCounter(t)
	get := methodOf("GET")
	keys := []countKey{{get, "a.example", OutcomeOK}, {get, "b.example", OutcomeOK}, {get, "a.example", "503"}}
	const goroutines, each = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				c.add(keys[(g+i)%len(keys)])
			}
		}()
	}
	wg.Wait()
	sums, ok := attemptSums(t, r)
	if !ok {
		t.Fatal("no attempts metric")
	}
	var total int64
	for _, v := range sums {
		total += v
	}
	if total != goroutines*each || len(sums) != 3 {
		t.Fatalf("sums %v: total %d over %d series, want %d over 3", sums, total, len(sums), goroutines*each)
	}
	if sums["GET a.example 503"] == 0 || sums["GET b.example ok"] == 0 {
		t.Fatalf("sums %v: a series is missing", sums)
	}
}

// Past maxAttemptSeries series, sends are counted in the overflow series:
// none is lost and the series stay bounded.
func TestAttemptCounterOverflow(t *testing.T) {
	c, r := newCounter(t)
	get := methodOf("GET")
	for i := range maxAttemptSeries + 5 {
		c.add(countKey{get, "h" + strconv.Itoa(i) + ".example", OutcomeOK})
	}
	c.add(countKey{get, "h0.example", OutcomeOK}) // an existing series still counts as itself
	sums, _ := attemptSums(t, r)
	if sums["overflow"] != 5 {
		t.Errorf("overflow series %d, want 5", sums["overflow"])
	}
	if sums["GET h0.example ok"] != 2 {
		t.Errorf("h0 series %d, want 2", sums["GET h0.example ok"])
	}
	if len(sums) != maxAttemptSeries+1 {
		t.Errorf("%d series, want %d + the overflow one", len(sums), maxAttemptSeries)
	}
	if got := attemptOverflow.Len(); got != 1 {
		t.Fatalf("overflow set has %d attributes", got)
	}
	if v, _ := attemptOverflow.Value(attribute.Key("otel.metric.overflow")); !v.AsBool() {
		t.Fatal("overflow set lacks otel.metric.overflow=true")
	}
}

// Close unregisters the callback: the counter is no longer reported.
func TestAttemptTraceClose(t *testing.T) {
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	at := NewAttemptTrace(nil, TraceConfig{MeterProvider: mp}).(*attemptTrace)
	at.attempts.add(countKey{methodOf("GET"), "a.example", OutcomeOK})
	if sums, ok := attemptSums(t, r); !ok || sums["GET a.example ok"] != 1 {
		t.Fatalf("before Close: %v, %v", sums, ok)
	}
	if err := at.Close(); err != nil {
		t.Fatal(err)
	}
	if sums, ok := attemptSums(t, r); ok && len(sums) > 0 {
		t.Fatalf("after Close the counter is still reported: %v", sums)
	}
}
