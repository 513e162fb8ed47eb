package transport_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// panickySource is a tokens.Source with a bug: Token panics.
type panickySource struct{}

func (panickySource) Token(context.Context) (tokens.Token, error) { panic("source bug") }

// panickyKeys is a signer.KeySource with a bug: SigningKey panics.
type panickyKeys struct{}

func (panickyKeys) SigningKey(context.Context) (*signer.Key, error) { panic("source bug") }

// TestCallerComponentPanicBeforeSendClosesBody: a component of the
// caller's that a layer asks before handing the request on (a token
// Source given to NewAuth or NewAPIKey without a tokens.Cache, which
// turns a source's panic into an error; a Signer's KeySource; a
// ThrottleConfig.Quota) that panicked (a bug in it) left the request's
// body unclosed, which RoundTrip must close on every path: a caller that
// recovers the panic (net/http's server recovers a handler's) with an
// io.Pipe body had its writer blocked for ever. The body is closed, the
// panic goes on unchanged, and nothing is sent.
func TestCallerComponentPanicBeforeSendClosesBody(t *testing.T) {
	scope := mustOrigins(t, "https://api.example.test")
	for _, tc := range []struct {
		name  string
		layer func(next http.RoundTripper) (http.RoundTripper, error)
	}{
		{"NewAuth Source", func(next http.RoundTripper) (http.RoundTripper, error) {
			return transport.NewAuth(next, transport.AuthConfig{Source: panickySource{}, Scope: scope})
		}},
		{"NewAPIKey Source", func(next http.RoundTripper) (http.RoundTripper, error) {
			return transport.NewAPIKey(next, transport.APIKeyConfig{Source: panickySource{}, Scope: scope})
		}},
		{"NewSign KeySource", func(next http.RoundTripper) (http.RoundTripper, error) {
			s, err := signer.New(signer.Options{Keys: panickyKeys{}})
			if err != nil {
				return nil, err
			}
			return transport.NewSign(next, transport.SignConfig{Signer: s, Scope: scope})
		}},
		{"NewThrottle Quota", func(next http.RoundTripper) (http.RoundTripper, error) {
			return transport.NewThrottle(next, transport.ThrottleConfig{
				Limit: transport.HostLimit{MaxConcurrent: 1},
				Quota: quotaFunc(func(context.Context, string) (time.Duration, error) { panic("source bug") }),
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
			rt, err := tc.layer(next)
			if err != nil {
				t.Fatal(err)
			}
			checkPanicBeforeSend(t, rt, next, "source bug")
		})
	}
}

// checkPanicBeforeSend sends a POST through rt, whose component panics
// with want before handing the request on to next: the panic reaches the
// caller unchanged, the request body is closed, and nothing is sent.
func checkPanicBeforeSend(t *testing.T, rt http.RoundTripper, next *transporttest.Responder, want any) {
	t.Helper()
	body := transporttest.NewTrackedBody([]byte("payload"))
	req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/x", body)
	var panicked any
	func() {
		defer func() { panicked = recover() }()
		resp, err := rt.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
	}()
	if panicked != want {
		t.Fatalf("panic %v reached the caller, want %v", panicked, want)
	}
	if !body.Closed() {
		t.Error("the request body was left unclosed by the panic")
	}
	if next.Calls() != 0 {
		t.Errorf("%d requests sent", next.Calls())
	}
}
