package transport_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestRetryPolicyPanicClosesResponse: a RetryConfig.CheckRetry or Backoff
// of the caller's that panicked (a bug in it; go-retryablehttp's types, so
// often hand-written) unwound through the retry layer with the attempt's
// response in hand: the caller never got it and its body was never closed,
// so its connection leaked and, below a throttle with a concurrency cap,
// the host's slot was held for the life of the process (a call whose
// context never ends), every later call to the host refused. The response
// is closed and the panic goes on unchanged; likewise a NewIdempotencyKey
// that panics has the request's body closed, as RoundTrip must on every
// path.
func TestRetryPolicyPanicClosesResponse(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(*transport.RetryConfig)
	}{
		{"CheckRetry", func(c *transport.RetryConfig) {
			c.CheckRetry = func(context.Context, *http.Response, error) (bool, error) { panic("policy bug") }
		}},
		{"Backoff", func(c *transport.RetryConfig) {
			c.Backoff = func(_, _ time.Duration, _ int, _ *http.Response) time.Duration { panic("policy bug") }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := transporttest.NewResponder(transporttest.Respond(503, "busy"), transporttest.Respond(200, "ok"))
			thr := newThrottle(t, next, transport.ThrottleConfig{Limit: transport.HostLimit{MaxConcurrent: 1}, MaxWait: 10 * time.Millisecond})
			cfg := transport.RetryConfig{MaxAttempts: 2}
			tc.cfg(&cfg)
			rt := newRetry(t, thr, cfg)
			var panicked any
			func() {
				defer func() { panicked = recover() }()
				resp, err := resGet(t, context.Background(), rt)
				if err == nil {
					resp.Body.Close()
				}
			}()
			if panicked != "policy bug" {
				t.Fatalf("panic %v reached the caller, want the policy's", panicked)
			}
			// The host's one slot is free again: the next call is sent.
			resp, err := resGet(t, context.Background(), transport.NewAttemptScope(thr))
			if err != nil {
				t.Errorf("next call to the host: %v (its concurrency slot lost to the panic)", err)
			} else {
				resp.Body.Close()
			}
			if err := next.Unclosed(); err != nil {
				t.Fatalf("the response in hand when the policy panicked: %v", err)
			}
		})
	}
	t.Run("NewIdempotencyKey", func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
		rt := newRetry(t, next, transport.RetryConfig{IdempotencyKeys: true, NewIdempotencyKey: func() (string, error) { panic("generator bug") }})
		body := transporttest.NewTrackedBody([]byte("payload"))
		req, _ := http.NewRequest(http.MethodPost, resURL, body)
		var panicked any
		func() {
			defer func() { panicked = recover() }()
			rt.RoundTrip(req)
		}()
		if panicked != "generator bug" {
			t.Fatalf("panic %v reached the caller, want the generator's", panicked)
		}
		if !body.Closed() {
			t.Fatal("the request body was left unclosed by the generator's panic")
		}
		if next.Calls() != 0 {
			t.Fatalf("%d requests sent", next.Calls())
		}
	})
}
