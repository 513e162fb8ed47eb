package transport_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// resStubNext answers every request with a 200 and no body, the way a fast
// upstream would, allocating only the response.
var resStubNext = resStub{}

type resStub struct{}

var resStubHeader = http.Header{"Content-Type": {"application/json"}}

func (resStub) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: resStubHeader, Body: http.NoBody, Request: req}, nil
}

// resilienceStacks are the stacks compared. "scope" is the baseline every
// stack pays anyway (the one per-attempt clone the retry layer replaces);
// "full" is retry + breaker + throttle with their default configuration.
func resilienceStacks(b *testing.B) map[string]http.RoundTripper {
	b.Helper()
	retry, err := transport.NewRetry(resStubNext, transport.RetryConfig{})
	if err != nil {
		b.Fatal(err)
	}
	th, err := transport.NewThrottle(resStubNext, transport.ThrottleConfig{})
	if err != nil {
		b.Fatal(err)
	}
	br, err := transport.NewBreaker(th, transport.BreakerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	full, err := transport.NewRetry(br, transport.RetryConfig{})
	if err != nil {
		b.Fatal(err)
	}
	preset, err := transport.NewResilience(resStubNext, transport.StandardPreset())
	if err != nil {
		b.Fatal(err)
	}
	return map[string]http.RoundTripper{
		"scope":  transport.NewAttemptScope(resStubNext),
		"retry":  retry,
		"full":   full,
		"preset": preset, // full + total and attempt timeouts
	}
}

// BenchmarkResilience measures the happy-path cost of the resilience
// layers over a stub transport. The cost of the layers is full - scope.
//
//	go test -run '^$' -bench 'Resilience' -benchmem ./transport
func BenchmarkResilience(b *testing.B) {
	stacks := resilienceStacks(b)
	for _, name := range []string{"scope", "retry", "full", "preset"} {
		rt := stacks[name]
		b.Run(name, func(b *testing.B) {
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/items", nil)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
			}
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/items", nil)
				for pb.Next() {
					resp, err := rt.RoundTrip(req)
					if err != nil {
						b.Error(err)
						return
					}
					resp.Body.Close()
				}
			})
		})
	}
}

// The allocation budget of the happy path: retry + breaker + throttle add
// at most 2 allocations to the per-attempt clone.
func TestResilienceHappyPathAllocs(t *testing.T) {
	stacks := resilienceStacks(&testing.B{})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/items", nil)
	run := func(rt http.RoundTripper) float64 {
		rt.RoundTrip(req)
		return testing.AllocsPerRun(200, func() {
			resp, _ := rt.RoundTrip(req)
			resp.Body.Close()
		})
	}
	base, full := run(stacks["scope"]), run(stacks["full"])
	if full-base > 2 {
		t.Errorf("retry + breaker + throttle: %v allocations per request above the attempt scope's %v, budget 2", full-base, base)
	}
}

// BenchmarkBreaker measures the breaker layer alone on its closed-state
// fast path (next returns one shared response: no allocation), without
// and with a shared store (BreakerConfig.Store, here an in-memory one
// holding another host's open state).
//
//	go test -run '^$' -bench 'Breaker$' -benchmem ./transport
func BenchmarkBreaker(b *testing.B) {
	resp := &http.Response{StatusCode: 200, Header: resStubHeader, Body: http.NoBody}
	next := roundTripFunc(func(*http.Request) (*http.Response, error) { return resp, nil })
	store := newMemBreakerStore()
	store.SetOpenUntil("other.example.test", time.Now().Add(time.Hour))
	for _, bc := range []struct {
		name string
		cfg  transport.BreakerConfig
	}{
		{"local", transport.BreakerConfig{}},
		{"store", transport.BreakerConfig{Store: store}},
	} {
		rt, err := transport.NewBreaker(next, bc.cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/items", nil)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/items", nil)
				for pb.Next() {
					resp, err := rt.RoundTrip(req)
					if err != nil {
						b.Error(err)
						return
					}
					resp.Body.Close()
				}
			})
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
