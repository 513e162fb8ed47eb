package bench

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
)

// Allocation budgets, asserted with testing.AllocsPerRun in the normal test
// run (no timing: allocation counts are exact and the same on every
// machine). They are upper bounds measured on 2026-11-27 (go1.26.8, lowered after the one-allocation attempt): the
// performance work (issue 8) removes allocations, and whoever removes one
// lowers the bound here so that it cannot come back. A test failure means
// a change added allocations to a layer's hot path: find them with
//
//	go test -run '^$' -bench 'Layer/<name>' -benchmem -memprofile mem.out -memprofilerate 1 ./bench/
//	go tool pprof -sample_index=alloc_objects -list 'transport\.' mem.out
//
// The counts are taken without the race detector (see raceEnabled);
// scripts/test.sh runs these tests once more without -race, so CI enforces
// them.

// allocRuns is the number of calls AllocsPerRun averages over.
const allocRuns = 200

// layerAllocBudget is the most allocations each layer may add to its
// baseline per call (the rows of BenchmarkLayer; the baseline of a row is
// its perLayerCase.base), by "<name>/<method>". Every row must have one.
var layerAllocBudget = map[string]float64{
	"stub/none/GET":  0,
	"stub/none/POST": 0,
	// One allocation per attempt (BeginAttempt: the context, the request
	// and its URL together) and the header map; a POST's two header
	// values more.
	"scope/GET":  3, // the attempt, and its response's shown request (session 10)
	"scope/POST": 5,

	// Per call, over stub/none.
	"calltrace/sdk/GET":  6,
	"calltrace/noop/GET": 1,
	"audit/GET":          8,
	"audit/disabled/GET": 0,
	"inventory/GET":      2,
	"egress/GET":         0,
	"limits/GET":         1, // the counting body wrapper
	"limits/POST":        1,
	"totaltimeout/GET":   2,
	"retry/GET":          3, // the per-attempt clone and the response's shown request (resp.Request without credentials)
	"retry/POST":         5,
	"retry/replay/GET":   13, // a second attempt, a drained 503
	"retry/replay/POST":  20, // and an Idempotency-Key, a GetBody replay of the body

	// Per attempt, over scope.
	"breaker/GET":           0,
	"throttle/GET":          0,
	"attempttimeout/GET":    0, // a lazy deadline in the attempt: a timer only when waited on
	"apikey/GET":            1,
	"auth/GET":              1,
	"sign/GET":              2,
	"sign/POST":             4, // Content-Digest over a GetBody copy (session 18: its digest summed into the pooled copy buffer, -1; its value and []string in one allocation, -1)
	"guard/GET":             0,
	"attempttrace/sdk/GET":  7,
	"attempttrace/noop/GET": 1,
}

// allocSpanSink is a synchronous span processor that drops every span.
// The SDK still snapshots each ended span for it, as it does for a batch
// processor, but no background export goroutine allocates while the
// allocations are counted.
type allocSpanSink struct{}

func (allocSpanSink) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (allocSpanSink) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (allocSpanSink) Shutdown(context.Context) error                  { return nil }
func (allocSpanSink) ForceFlush(context.Context) error                { return nil }

func skipUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("allocation counts of pooled code vary under -race; scripts/test.sh runs this test without it")
	}
}

// TestLayerAllocs checks each layer of BenchmarkLayer against its
// allocation budget (layerAllocBudget), as allocations over its baseline.
func TestLayerAllocs(t *testing.T) {
	skipUnderRace(t)
	env := newPerLayerEnv(t, allocSpanSink{})
	cases := perLayerCases(t, env)
	measured := map[string]float64{}
	for _, c := range cases { // baselines come first in the table
		for _, m := range perLayerMethods(c) {
			row := c.name + "/" + m
			got := testing.AllocsPerRun(allocRuns, func() {
				if err := perLayerOnce(c.rt, m); err != nil {
					t.Fatalf("%s: %v", row, err)
				}
			})
			measured[row] = got
			extra := got
			if c.base != "" {
				base, ok := measured[c.base+"/"+m]
				if !ok {
					t.Fatalf("%s: baseline %s/%s not measured before it", row, c.base, m)
				}
				extra = got - base
			}
			budget, ok := layerAllocBudget[row]
			switch {
			case !ok:
				t.Errorf("%s: no allocation budget in layerAllocBudget (it adds %v)", row, extra)
			case c.base == "":
				t.Logf("%s: %v allocations per call (baseline)", row, got)
			case extra > budget:
				t.Errorf("%s: %v allocations per call over %s, budget %v", row, extra, c.base, budget)
			default:
				t.Logf("%s: +%v allocations per call over %s (budget %v)", row, extra, c.base, budget)
			}
		}
	}
	for row := range layerAllocBudget {
		if _, ok := measured[row]; !ok {
			t.Errorf("layerAllocBudget has %s, which BenchmarkLayer does not measure", row)
		}
	}
}

// stackAllocBudget is the most allocations client.New's stack may add to
// bare net/http per call on the stub transport (http.Client.Do, body read
// and closed), by "<variant>/<method>": full has every layer on (HMAC
// signing, a cached bearer token, the resilience and egress defaults) and
// tracing on with a real OTel SDK; lean is full with no-op tracer and meter
// providers. The issue 8 target for full/GET is 30. Tighten these as the
// allocations go.
var stackAllocBudget = map[string]float64{
	"full/GET":  11, // 24 vs bare 13 (+41 at the start of the performance work, +22 at the end of session 2; the first attempt on the call's own copy: -1; session 10: resp.Request shown without credentials, +1; session 18: the signature's field values and their []string in one allocation, -1)
	"full/POST": 15, // 35 vs bare 20 (session 18: the Content-Digest summed into the pooled copy buffer, -1; its value and []string in one allocation, -1)
	"lean/GET":  5,  // tracing off
	"lean/POST": 9,
}

// stackAllocClient returns a client with every layer on over the stub
// transport, as BenchmarkStack's full (tracing on, the SDK's spans going to
// a synchronous sink) or lean (no-op providers) client.
func stackAllocClient(t *testing.T, tracing bool) *client.Client {
	t.Helper()
	key, err := signer.NewHMACKey("bench-key", bytes.Repeat([]byte{0x42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	tok := tokens.NewToken("bench-access-token", "Bearer", time.Now().Add(24*time.Hour))
	opts := []client.Option{
		client.WithOrigins(perLayerOrigin),
		client.WithBaseTransport(pooledStub{}),
		client.WithHMACSigning(signer.StaticKey(key)),
		client.WithTokenSource(tokens.SourceFunc(func(context.Context) (tokens.Token, error) { return tok, nil })),
	}
	if tracing {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(allocSpanSink{}))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		t.Cleanup(func() {
			_ = tp.Shutdown(context.Background())
			_ = mp.Shutdown(context.Background())
		})
		opts = append(opts, client.WithTracerProvider(tp), client.WithMeterProvider(mp), client.WithPropagator(propagation.TraceContext{}))
	} else {
		opts = append(opts, client.WithTracerProvider(tracenoop.NewTracerProvider()), client.WithMeterProvider(metricnoop.NewMeterProvider()))
	}
	c, err := client.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// pooledStub is the stub transport with the connection pool every real
// base transport has: the client then closes its idle connections when a
// call ends after Close, and checks for that on every call.
type pooledStub struct{ stubTransport }

func (pooledStub) CloseIdleConnections() {}

// doAllocs returns the allocations per call of do with a fresh request
// of method, the body read to the end and closed.
func doAllocs(t *testing.T, do func(*http.Request) (*http.Response, error), method string) float64 {
	t.Helper()
	return testing.AllocsPerRun(allocRuns, func() {
		req, err := perLayerRequest(method)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", method, resp.StatusCode)
		}
	})
}

// TestStackAllocs checks the whole client.New stack on the stub transport
// against stackAllocBudget, as allocations over bare net/http measured in
// the same test.
func TestStackAllocs(t *testing.T) {
	skipUnderRace(t)
	bare := &http.Client{Transport: stubTransport{}}
	clients := map[string]*client.Client{
		"full": stackAllocClient(t, true),
		"lean": stackAllocClient(t, false),
	}
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		base := doAllocs(t, bare.Do, m)
		for _, v := range []string{"full", "lean"} {
			row := v + "/" + m
			got := doAllocs(t, clients[v].Do, m)
			budget, ok := stackAllocBudget[row]
			if !ok {
				t.Fatalf("%s: no budget", row)
			}
			if extra := got - base; extra > budget {
				t.Errorf("%s: %v allocations per call (bare %v): +%v over bare net/http, budget %v", row, got, base, extra, budget)
			} else {
				t.Logf("%s: %v allocations per call (bare %v): +%v over bare net/http (budget %v)", row, got, base, extra, budget)
			}
		}
	}
}
