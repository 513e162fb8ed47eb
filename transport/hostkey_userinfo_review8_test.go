package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// HostKey names the host a request goes to: userinfo a URL built by hand
// put in Host ("user:pass@host", which url.Parse would have put in User)
// is no part of it. The key is a span attribute, a metric attribute, an
// error's Host and a shared store's key: a credential must not reach them.
func TestHostKeyDropsUserinfoInHost(t *testing.T) {
	for _, c := range []struct{ scheme, host, want string }{
		{"https", "user:s3cr3t@API.example.test", "api.example.test"},
		{"https", "s3cr3t@api.example.test:8443", "api.example.test:8443"},
		{"https", "us@er:s3cr3t@api.example.test:443", "api.example.test"},
		{"http", "user:s3cr3t@api.example.test.:80", "api.example.test"},
		{"https", "user:s3cr3t@[2001:db8::1]:8443", "[2001:db8::1]:8443"},
		{"https", "s3cr3t@", ""},
	} {
		got := transport.HostKey(&url.URL{Scheme: c.scheme, Host: c.host})
		if got != c.want {
			t.Errorf("HostKey(%s://%s) = %q, want %q", c.scheme, c.host, got, c.want)
		}
	}
}

// keyRecorder is a BreakerStore, CooldownStore and SharedQuota that
// records the host keys it is given.
type keyRecorder struct {
	mu   sync.Mutex
	keys []string
}

func (k *keyRecorder) add(h string) {
	k.mu.Lock()
	k.keys = append(k.keys, h)
	k.mu.Unlock()
}

func (k *keyRecorder) OpenUntil(h string) time.Time       { k.add(h); return time.Time{} }
func (k *keyRecorder) SetOpenUntil(h string, _ time.Time) { k.add(h) }
func (k *keyRecorder) CooldownUntil(h string) time.Time   { k.add(h); return time.Time{} }
func (k *keyRecorder) SetCooldown(h string, _ time.Time)  { k.add(h) }
func (k *keyRecorder) TakeQuota(_ context.Context, h string) (time.Duration, error) {
	k.add(h)
	return 0, nil
}

// A stack built by hand, without the egress guard that refuses such a
// URL, keeps userinfo in a hand-built Host out of the retry budget's and
// the breaker's span events, their metrics, the breaker's errors and
// OnStateChange, and the shared stores' keys.
func TestResilienceLayersKeepUserinfoInHostOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		stores := &keyRecorder{}
		var changed []string
		next := transporttest.NewResponder(transporttest.Respond(503, ""))
		rt, err := transport.NewThrottle(next, transport.ThrottleConfig{Quota: stores, MeterProvider: mp})
		if err != nil {
			t.Fatal(err)
		}
		rt, err = transport.NewBreaker(rt, transport.BreakerConfig{
			ConsecutiveFailures: 2, MeterProvider: mp, Store: stores,
			OnStateChange: func(h string, _, _ transport.BreakerState) { changed = append(changed, h) },
		})
		if err != nil {
			t.Fatal(err)
		}
		rt = newRetry(t, rt, transport.RetryConfig{
			MaxAttempts: 3, MeterProvider: mp, Cooldowns: stores,
			Backoff: resFixedBackoff(time.Millisecond),
			Budget:  transport.BudgetConfig{Ratio: 0.01, MinRetries: -1},
		})
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		ctx, span := tp.Tracer("test").Start(t.Context(), "call")
		var errs []error
		for range 3 {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.test/v1", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.URL.Host = "user:s3cr3t@api.example.test"
			resp, err := rt.RoundTrip(req)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			resp.Body.Close()
		}
		span.End()

		var seen []string
		for _, s := range rec.Ended() {
			for _, e := range s.Events() {
				seen = append(seen, fmt.Sprint(e.Name, e.Attributes))
			}
			seen = append(seen, fmt.Sprint(s.Attributes(), s.Status()))
		}
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, fmt.Sprintf("%+v", rm))
		for _, err := range errs {
			seen = append(seen, err.Error())
			var coe *transport.CircuitOpenError
			if errors.As(err, &coe) {
				seen = append(seen, coe.Host)
			}
		}
		seen = append(seen, changed...)
		seen = append(seen, stores.keys...)
		if len(errs) == 0 || len(changed) == 0 || len(stores.keys) == 0 {
			t.Fatalf("errors %v, state changes %v, store keys %v: the test did not reach every consumer", errs, changed, stores.keys)
		}
		for _, s := range seen {
			if strings.Contains(s, "s3cr3t") {
				t.Errorf("credential in %s", s)
			}
		}
	})
}
