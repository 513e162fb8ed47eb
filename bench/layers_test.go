package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// Per-layer benchmarks: every transport layer alone around the stub
// transport, built with its public constructor and configured as
// client/stack.go configures it, so that a regression in BenchmarkStack can
// be pinned on its layer:
//
//	BenchmarkLayer/<layer>/{GET,POST}
//
// Each iteration builds a request with http.NewRequest (POST: 1 KiB of
// JSON with GetBody), calls the layer's RoundTrip directly (no
// http.Client), reads the response body to the end and closes it. A layer's
// own cost is its row minus its baseline:
//
//   - stub/none: the stub alone; the baseline of the per-call layers
//     (call trace, audit, inventory, egress, limits, total timeout, retry);
//   - scope: the stub behind transport.NewAttemptScope, the one
//     per-attempt copy (BeginAttempt) that a stack makes once and
//     shares; the baseline of the per-attempt layers (breaker, throttle,
//     attempt timeout, API key, auth, sign, credential guard, attempt
//     trace), which run inside it as they do in the stack;
//   - retry includes its own BeginAttempt clone (it replaces the scope), so
//     its row minus stub/none is retry + one clone; retry/replay answers
//     503 to the first attempt of every call, so it pays a second stub
//     round trip, a drained 503 and, for the POST, an Idempotency-Key
//     and a GetBody replay of the body.
//
// The trace layers run twice: "sdk" with a real OTel SDK (always sampled,
// batch span processor to a discarding exporter, a metric SDK with a manual
// reader, the trace-context propagator), as bench's BenchmarkStack does, and
// "noop" with no-op tracer and meter providers.
//
//	go test -run '^$' -bench 'Layer' -benchmem ./bench/

// perLayerURL is the URL every layer benchmark requests; its origin is the
// only origin credential layers are scoped to.
const (
	perLayerURL    = "https://api.example.test/v1/items?page=2"
	perLayerOrigin = "https://api.example.test"
)

// perLayerCase is one row of the per-layer benchmarks and allocation checks.
type perLayerCase struct {
	name string
	// base names the row whose cost this one includes ("" for the
	// baselines themselves).
	base string
	// post: the layer touches bodies (request or response), so a POST row
	// is measured too.
	post bool
	rt   http.RoundTripper
}

// perLayerEnv holds the telemetry providers the layers are built with.
type perLayerEnv struct {
	sdk  transport.TraceConfig // real SDK providers
	noop transport.TraceConfig // no-op providers
}

// newPerLayerEnv returns the SDK providers (spans go to processor; nil means
// a batch span processor to a discarding exporter) and the no-op ones,
// shut down when tb ends.
func newPerLayerEnv(tb testing.TB, processor sdktrace.SpanProcessor) perLayerEnv {
	tb.Helper()
	if processor == nil {
		processor = sdktrace.NewBatchSpanProcessor(discardExporter{})
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(processor), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tb.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	return perLayerEnv{
		sdk: transport.TraceConfig{TracerProvider: tp, MeterProvider: mp, Propagator: propagation.TraceContext{}},
		noop: transport.TraceConfig{
			TracerProvider: tracenoop.NewTracerProvider(), MeterProvider: metricnoop.NewMeterProvider(),
			Propagator: propagation.TraceContext{},
		},
	}
}

// perLayerFlaky answers 503 (with a small body, to be drained) to the first
// attempt of every call and passes later attempts to the stub transport:
// the retry layer's replay path without any wait.
type perLayerFlaky struct{}

func (perLayerFlaky) RoundTrip(req *http.Request) (*http.Response, error) {
	if a, ok := transport.AttemptFrom(req.Context()); ok && a.Number > 0 {
		return stubTransport{}.RoundTrip(req)
	}
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable",
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(strings.NewReader(`{"error":"busy"}`)),
		ContentLength: 16,
		Request:       req,
	}, nil
}

// perLayerNoBackoff makes retries immediate.
func perLayerNoBackoff(_, _ time.Duration, _ int, _ *http.Response) time.Duration { return 0 }

// perLayerCases builds every layer around the stub, each alone (per-attempt
// layers inside an attempt scope), with the providers of env.
func perLayerCases(tb testing.TB, env perLayerEnv) []perLayerCase {
	tb.Helper()
	must := func(rt http.RoundTripper, err error) http.RoundTripper {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return rt
	}
	var stub http.RoundTripper = stubTransport{}
	scope := transport.NewAttemptScope
	mp := env.sdk.MeterProvider
	preset := transport.StandardPreset()

	origins, err := transport.ParseOrigins(perLayerOrigin)
	if err != nil {
		tb.Fatal(err)
	}

	// Audit: a JSON logger writing to io.Discard (records are built and
	// formatted), and one whose level drops the records.
	auditOn := slog.New(slog.NewJSONHandler(io.Discard, nil))
	auditOff := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))

	inv, err := transport.NewInventory(transport.InventoryConfig{MeterProvider: mp})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = inv.Close() })

	retryCfg := preset.Retry
	retryCfg.MeterProvider = mp
	retryCfg.Cooldowns = transport.NewCooldowns(0)
	replayCfg := retryCfg
	replayCfg.Budget.Disabled = true // every call retries once: a budget would stop that
	replayCfg.Backoff = perLayerNoBackoff
	replayCfg.IdempotencyKeys = true // POST becomes replayable, as with client.WithIdempotencyKeys

	breakerCfg := preset.Breaker
	breakerCfg.MeterProvider = mp
	throttleCfg := preset.Throttle
	throttleCfg.MeterProvider = mp
	throttleCfg.Limit = transport.HostLimit{Rate: 1e9, Burst: 1 << 20} // a bucket that never runs dry

	// Auth: a cached bearer token, valid for an hour, fetched before the
	// benchmark starts.
	cache, err := tokens.NewCache(tokens.Static(tokens.NewToken("bench-access-token", "Bearer", time.Now().Add(time.Hour))))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := cache.Token(context.Background()); err != nil {
		tb.Fatal(err)
	}
	apiKey := tokens.Static(tokens.NewToken("bench-api-key", "", time.Time{}))

	key, err := signer.NewHMACKey("bench-key", bytes.Repeat([]byte{0x42}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	sgn, err := signer.New(signer.Options{Keys: signer.StaticKey(key)})
	if err != nil {
		tb.Fatal(err)
	}

	return []perLayerCase{
		// Baselines.
		{name: "stub/none", post: true, rt: stub},
		{name: "scope", base: "stub/none", post: true, rt: scope(stub)},

		// Per call (1–4 in client/stack.go).
		{name: "calltrace/sdk", base: "stub/none", rt: transport.NewCallTrace(stub, env.sdk)},
		{name: "calltrace/noop", base: "stub/none", rt: transport.NewCallTrace(stub, env.noop)},
		{name: "audit", base: "stub/none", rt: must(transport.NewAudit(stub, transport.AuditConfig{Logger: auditOn}))},
		{name: "audit/disabled", base: "stub/none", rt: must(transport.NewAudit(stub, transport.AuditConfig{Logger: auditOff}))},
		{name: "inventory", base: "stub/none", rt: must(transport.NewInventoryLayer(stub, inv))},
		{name: "egress", base: "stub/none", rt: must(transport.NewEgress(stub, transport.EgressConfig{Allow: []string{"api.example.test"}}))},
		{name: "limits", base: "stub/none", post: true, rt: must(transport.NewLimits(stub, transport.LimitsConfig{}))},
		{name: "totaltimeout", base: "stub/none", rt: must(transport.NewTotalTimeout(stub, preset.TotalTimeout))},
		{name: "retry", base: "stub/none", post: true, rt: must(transport.NewRetry(stub, retryCfg))},
		{name: "retry/replay", base: "stub/none", post: true, rt: must(transport.NewRetry(perLayerFlaky{}, replayCfg))},

		// Per attempt (5–10), inside the attempt scope.
		{name: "breaker", base: "scope", rt: scope(must(transport.NewBreaker(stub, breakerCfg)))},
		{name: "throttle", base: "scope", rt: scope(must(transport.NewThrottle(stub, throttleCfg)))},
		{name: "attempttimeout", base: "scope", rt: scope(must(transport.NewAttemptTimeout(stub, preset.AttemptTimeout)))},
		{name: "apikey", base: "scope", rt: scope(must(transport.NewAPIKey(stub, transport.APIKeyConfig{Source: apiKey, Scope: origins})))},
		{name: "auth", base: "scope", rt: scope(must(transport.NewAuth(stub, transport.AuthConfig{Source: cache, Scope: origins})))},
		{name: "sign", base: "scope", post: true, rt: scope(must(transport.NewSign(stub, transport.SignConfig{Signer: sgn, Scope: origins})))},
		{name: "guard", base: "scope", rt: scope(must(transport.NewCredentialGuard(stub, transport.EgressConfig{})))},
		{name: "attempttrace/sdk", base: "scope", rt: scope(transport.NewAttemptTrace(stub, env.sdk))},
		{name: "attempttrace/noop", base: "scope", rt: scope(transport.NewAttemptTrace(stub, env.noop))},
	}
}

// perLayerRequest returns a fresh request like the ones BenchmarkStack sends.
func perLayerRequest(method string) (*http.Request, error) {
	if method == http.MethodPost {
		req, err := http.NewRequest(method, perLayerURL, bytes.NewReader(payload))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	}
	return http.NewRequest(method, perLayerURL, nil)
}

// perLayerOnce sends one request through rt and consumes the answer.
func perLayerOnce(rt http.RoundTripper, method string) error {
	req, err := perLayerRequest(method)
	if err != nil {
		return err
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// perLayerMethods returns the methods c is measured with.
func perLayerMethods(c perLayerCase) []string {
	if c.post {
		return []string{http.MethodGet, http.MethodPost}
	}
	return []string{http.MethodGet}
}

// BenchmarkLayer measures each transport layer alone over the stub
// transport; see the comment at the top of this file for the rows and
// their baselines.
func BenchmarkLayer(b *testing.B) {
	env := newPerLayerEnv(b, nil)
	for _, c := range perLayerCases(b, env) {
		for _, m := range perLayerMethods(c) {
			b.Run(c.name+"/"+m, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := perLayerOnce(c.rt, m); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkLayerParallel runs the layers whose hot path touches shared
// state (per-host registries, the token cache, the inventory, the OTel
// SDK) from 8 goroutines: a lock that serialises callers shows up as CPU
// per request (ns/op × GOMAXPROCS) well above the sequential row.
func BenchmarkLayerParallel(b *testing.B) {
	env := newPerLayerEnv(b, nil)
	shared := map[string]bool{
		"stub/none": true, "scope": true, "calltrace/sdk": true, "inventory": true, "retry": true,
		"breaker": true, "throttle": true, "auth": true, "sign": true, "attempttrace/sdk": true,
	}
	for _, c := range perLayerCases(b, env) {
		if !shared[c.name] {
			continue
		}
		b.Run(c.name+"/GET", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(4) // 4 × GOMAXPROCS(2) = 8 goroutines on the project machines
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := perLayerOnce(c.rt, http.MethodGet); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
