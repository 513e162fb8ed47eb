package transport_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A next holding a nil pointer (a *transport.Base or *http.Transport
// variable never assigned, which is no nil interface) was taken by every
// layer constructor, and every call through the stack then panicked on
// the nil pointer. The constructors that return an error refuse it now
// with a *ConfigError naming next; those that return none (NewCallTrace,
// NewAttemptTrace, NewCallLayerBoundary, NewAttemptScope,
// NewEgressWithPolicy) give a layer that refuses every call with that
// error, its body closed, without panicking. A nil next is still
// http.DefaultTransport, as documented.
func TestTypedNilNextRefused(t *testing.T) {
	var base *transport.Base
	var ht *http.Transport
	for _, next := range []http.RoundTripper{base, ht} {
		withErr := map[string]func() (http.RoundTripper, error){
			"NewRetry":          func() (http.RoundTripper, error) { return transport.NewRetry(next, transport.RetryConfig{}) },
			"NewBreaker":        func() (http.RoundTripper, error) { return transport.NewBreaker(next, transport.BreakerConfig{}) },
			"NewThrottle":       func() (http.RoundTripper, error) { return transport.NewThrottle(next, transport.ThrottleConfig{}) },
			"NewEgress":         func() (http.RoundTripper, error) { return transport.NewEgress(next, transport.EgressConfig{}) },
			"NewLimits":         func() (http.RoundTripper, error) { return transport.NewLimits(next, transport.LimitsConfig{}) },
			"NewTotalTimeout":   func() (http.RoundTripper, error) { return transport.NewTotalTimeout(next, time.Second) },
			"NewAttemptTimeout": func() (http.RoundTripper, error) { return transport.NewAttemptTimeout(next, time.Second) },
			"NewResilience":     func() (http.RoundTripper, error) { return transport.NewResilience(next, transport.ResilienceConfig{}) },
		}
		for name, build := range withErr {
			rt, err := build()
			var ce *transport.ConfigError
			if !errors.As(err, &ce) || ce.Option != "next" || rt != nil {
				t.Errorf("%s(%T nil): %v, %v; want a *ConfigError naming next", name, next, rt, err)
			}
		}
		p, err := transport.NewEgressPolicy(transport.EgressConfig{})
		if err != nil {
			t.Fatal(err)
		}
		noErr := map[string]http.RoundTripper{
			"NewCallTrace":         transport.NewCallTrace(next, transport.TraceConfig{}),
			"NewAttemptTrace":      transport.NewAttemptTrace(next, transport.TraceConfig{}),
			"NewCallLayerBoundary": transport.NewCallLayerBoundary(next),
			"NewAttemptScope":      transport.NewAttemptScope(next),
			"NewEgressWithPolicy":  transport.NewEgressWithPolicy(next, p),
		}
		for name, rt := range noErr {
			body := transporttest.NewTrackedBody([]byte("payload"))
			req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/", body)
			var resp *http.Response
			func() {
				defer func() {
					if v := recover(); v != nil {
						t.Errorf("%s(%T nil): RoundTrip panicked: %v", name, next, v)
					}
				}()
				resp, err = rt.RoundTrip(req)
			}()
			var ce *transport.ConfigError
			if !errors.As(err, &ce) || ce.Option != "next" || resp != nil {
				t.Errorf("%s(%T nil): %v, %v; want a *ConfigError naming next", name, next, resp, err)
			}
			if !body.Closed() {
				t.Errorf("%s(%T nil): request body not closed", name, next)
			}
		}
	}
}

// NewCallTrace and NewAttemptTrace panicked on a TraceConfig provider
// holding a nil pointer (a *sdktrace.TracerProvider or
// *sdkmetric.MeterProvider variable never assigned), which NewBase and
// NewTokenRequests refuse; they return no error, so the layer they give
// now refuses every call with a *ConfigError naming the field, its body
// closed.
func TestTraceLayersTypedNilProviderRefuseEveryCall(t *testing.T) {
	var tp *sdktrace.TracerProvider
	var mp *sdkmetric.MeterProvider
	next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
	for field, cfg := range map[string]transport.TraceConfig{
		"TracerProvider": {TracerProvider: tp},
		"MeterProvider":  {MeterProvider: mp},
	} {
		for name, build := range map[string]func() http.RoundTripper{
			"NewCallTrace":    func() http.RoundTripper { return transport.NewCallTrace(next, cfg) },
			"NewAttemptTrace": func() http.RoundTripper { return transport.NewAttemptTrace(next, cfg) },
		} {
			var rt http.RoundTripper
			func() {
				defer func() {
					if v := recover(); v != nil {
						t.Errorf("%s(nil %s) panicked: %v", name, field, v)
					}
				}()
				rt = build()
			}()
			if rt == nil {
				continue
			}
			body := transporttest.NewTrackedBody([]byte("payload"))
			req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/", body)
			resp, err := rt.RoundTrip(req)
			var ce *transport.ConfigError
			if !errors.As(err, &ce) || ce.Option != field || resp != nil {
				t.Errorf("%s(nil %s): %v, %v; want a *ConfigError naming %s", name, field, resp, err, field)
			}
			if !body.Closed() {
				t.Errorf("%s(nil %s): request body not closed", name, field)
			}
		}
	}
	if n := len(next.Bodies()); n != 0 {
		t.Errorf("next got %d requests, want none", n)
	}
}
