package transport_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// okQuota is a SharedQuota that always lets the request through.
type okQuota struct{ n atomic.Int32 }

func (q *okQuota) TakeQuota(context.Context, string) (time.Duration, error) {
	q.n.Add(1)
	return 0, nil
}

// TestHandBuiltLayersNextReturnsNothingRest: the throttle, sign, egress,
// credential guard and attempt-scope layers handed a next transport's
// (nil, nil), a broken http.RoundTripper contract (a bug in a caller's
// layer or base transport), on as it was, where the nine layers f18429e
// fixed, net/http's Client and client.New's stack return an error: a
// caller of such a layer built by hand, alone or topmost, got neither a
// response nor an error, and crashed on the response's nil dereference.
// Each returns errNoNextResponse and no response; the throttle gives its
// concurrency slot back.
func TestHandBuiltLayersNextReturnsNothingRest(t *testing.T) {
	nothing := transporttest.RoundTripperFunc(func(*http.Request) (*http.Response, error) { return nil, nil })
	must := func(rt http.RoundTripper, err error) http.RoundTripper {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	scope := mustOrigins(t, "https://api.example.test")
	other := mustOrigins(t, "https://other.example.test")
	sign := func(s transport.Origins) func(http.RoundTripper) http.RoundTripper {
		return func(n http.RoundTripper) http.RoundTripper {
			sg, err := signer.New(signer.Options{Keys: signer.StaticKey(signKey(t))})
			if err != nil {
				t.Fatal(err)
			}
			return must(transport.NewSign(n, transport.SignConfig{Signer: sg, Scope: s}))
		}
	}
	layers := []struct {
		name string
		rt   func(next http.RoundTripper) http.RoundTripper
	}{
		{"throttle", func(n http.RoundTripper) http.RoundTripper {
			return must(transport.NewThrottle(n, transport.ThrottleConfig{}))
		}},
		{"throttle with a cap, a rate and a quota", func(n http.RoundTripper) http.RoundTripper {
			return must(transport.NewThrottle(n, transport.ThrottleConfig{
				Limit: transport.HostLimit{MaxConcurrent: 1, Rate: 1000},
				Quota: &okQuota{},
			}))
		}},
		{"sign", sign(scope)},
		{"sign out of scope", sign(other)},
		{"egress", func(n http.RoundTripper) http.RoundTripper {
			return must(transport.NewEgress(n, transport.EgressConfig{Allow: []string{"api.example.test"}}))
		}},
		{"credential guard", func(n http.RoundTripper) http.RoundTripper {
			return must(transport.NewCredentialGuard(n, transport.EgressConfig{}))
		}},
		{"attempt scope", transport.NewAttemptScope},
	}
	for _, l := range layers {
		rt := l.rt(nothing)
		t.Run(l.name, func(t *testing.T) {
			// Twice: a throttle's slot (MaxConcurrent 1) held by the
			// first would refuse the second.
			for i := range 2 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.test/x", nil)
				var resp *http.Response
				var err error
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Fatalf("call %d: RoundTrip panicked: %v", i, r)
						}
					}()
					resp, err = rt.RoundTrip(req)
				}()
				cancel()
				if resp != nil || err == nil {
					t.Fatalf("call %d: RoundTrip = %v, %v; want no response and an error", i, resp, err)
				}
				if !strings.Contains(err.Error(), "neither a response nor an error") {
					t.Errorf("call %d: error %q: want one saying the next transport returned neither a response nor an error", i, err)
				}
			}
		})
	}
}
