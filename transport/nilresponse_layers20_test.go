package transport_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestHandBuiltLayersNextReturnsNothing: a hand-built stack over a broken
// base transport (or a caller's layer) that returns neither a response
// nor an error crashed the call's goroutine with a nil pointer dereference
// in the breaker, the limits, the total and attempt timeouts, the call and
// attempt traces, NewTokenRequests' trace and the auth and API-key layers,
// where net/http's Client, the
// audit and inventory layers and client.New's stack turn it into an
// error. Each layer now returns an error and no response, whether or not
// it records (a real OTel SDK for the traces), inside a call scope and
// alone.
func TestHandBuiltLayersNextReturnsNothing(t *testing.T) {
	nothing := transporttest.RoundTripperFunc(func(*http.Request) (*http.Response, error) { return nil, nil })
	must := func(rt http.RoundTripper, err error) http.RoundTripper {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	rig := newOtelRig(t, nil)
	scope := mustOrigins(t, "https://api.example.test")
	src := tokens.Static(tokens.NewToken("k", "Bearer", time.Time{}))
	quiet := transport.TraceConfig{}
	layers := []struct {
		name string
		rt   func(next http.RoundTripper) http.RoundTripper
	}{
		{"breaker", func(n http.RoundTripper) http.RoundTripper {
			return must(transport.NewBreaker(n, transport.BreakerConfig{}))
		}},
		{"limits", func(n http.RoundTripper) http.RoundTripper {
			return must(transport.NewLimits(n, transport.LimitsConfig{}))
		}},
		{"total timeout", func(n http.RoundTripper) http.RoundTripper {
			return must(transport.NewTotalTimeout(n, time.Minute))
		}},
		{"attempt timeout", func(n http.RoundTripper) http.RoundTripper {
			return must(transport.NewAttemptTimeout(n, time.Minute))
		}},
		{"call trace", func(n http.RoundTripper) http.RoundTripper { return transport.NewCallTrace(n, rig.cfg) }},
		{"call trace quiet", func(n http.RoundTripper) http.RoundTripper { return transport.NewCallTrace(n, quiet) }},
		{"attempt trace", func(n http.RoundTripper) http.RoundTripper { return transport.NewAttemptTrace(n, rig.cfg) }},
		{"attempt trace quiet", func(n http.RoundTripper) http.RoundTripper { return transport.NewAttemptTrace(n, quiet) }},
		{"token requests trace", func(n http.RoundTripper) http.RoundTripper {
			return must(transport.NewTokenRequests(n, transport.TokenRequestConfig{Trace: &rig.cfg}))
		}},
		{"auth", func(n http.RoundTripper) http.RoundTripper {
			return must(transport.NewAuth(n, transport.AuthConfig{Source: src, Scope: scope}))
		}},
		{"api key", func(n http.RoundTripper) http.RoundTripper {
			return must(transport.NewAPIKey(n, transport.APIKeyConfig{Source: src, Scope: scope}))
		}},
		{"auth over sign", func(n http.RoundTripper) http.RoundTripper {
			s, err := signer.New(signer.Options{Keys: signer.StaticKey(signKey(t))})
			if err != nil {
				t.Fatal(err)
			}
			sign := must(transport.NewSign(n, transport.SignConfig{Signer: s, Scope: scope}))
			return must(transport.NewAuth(sign, transport.AuthConfig{Source: src, Scope: scope}))
		}},
		{"retry", func(n http.RoundTripper) http.RoundTripper {
			return must(transport.NewRetry(n, transport.RetryConfig{}))
		}},
		{"call layer boundary", transport.NewCallLayerBoundary},
	}
	for _, l := range layers {
		for _, scoped := range []bool{false, true} {
			name := l.name
			rt := l.rt(nothing)
			if scoped {
				name += " in a call scope"
				rt = transport.NewCallTrace(transport.NewAttemptScope(rt), quiet)
			}
			t.Run(name, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.test/x", nil)
				var resp *http.Response
				var err error
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Fatalf("RoundTrip panicked: %v", r)
						}
					}()
					resp, err = rt.RoundTrip(req)
				}()
				if resp != nil || err == nil {
					t.Fatalf("RoundTrip = %v, %v; want no response and an error", resp, err)
				}
				if !strings.Contains(err.Error(), "neither a response nor an error") {
					t.Errorf("error %q: want one saying the next transport returned neither a response nor an error", err)
				}
			})
		}
	}
}
