package transport_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A flaky upstream answers 503 twice, then 200: the retry layer tries
// again and the caller gets the 200, with the attempt count.
func ExampleNewRetry() {
	upstream := transporttest.NewResponder(
		transporttest.Respond(503, "busy"),
		transporttest.Respond(503, "busy", "Retry-After", "0"),
		transporttest.Respond(200, `{"ok":true}`))
	rt, err := transport.NewRetry(upstream, transport.RetryConfig{BaseDelay: time.Millisecond})
	if err != nil {
		panic(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/items", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body), "after", transport.Attempts(resp), "attempts")
	// Output: 200 {"ok":true} after 3 attempts
}

// The server asks for a two-minute wait but the call has ten seconds
// left: it fails at once, saying why.
func ExampleDeadlineError() {
	upstream := transporttest.NewResponder(transporttest.Respond(429, "slow down", "Retry-After", "120"))
	rt, err := transport.NewRetry(upstream, transport.RetryConfig{MaxRetryAfter: 5 * time.Minute})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.test/v1/items", nil)
	_, err = rt.RoundTrip(req)
	var de *transport.DeadlineError
	if errors.As(err, &de) {
		fmt.Println("source:", de.Reason)
		fmt.Println("asked at least 2m:", de.Wait >= 2*time.Minute, "- left at most 10s:", de.Remaining <= 10*time.Second)
		fmt.Println("rate limited:", errors.Is(err, transport.ErrRateLimited))
	}
	// Output:
	// source: retry-after
	// asked at least 2m: true - left at most 10s: true
	// rate limited: true
}

// NewResilience stacks the total deadline, retry, breaker, throttle and
// attempt timeout over the per-attempt layers, from a checked preset.
func ExampleNewResilience() {
	cfg := transport.InteractivePreset()
	cfg.Retry.IdempotencyKeys = true // POSTs get a key, so they can be retried
	rt, err := transport.NewResilience(http.DefaultTransport, cfg)
	fmt.Println(rt != nil, err)

	cfg.AttemptTimeout = cfg.TotalTimeout
	_, err = transport.NewResilience(http.DefaultTransport, cfg)
	var ce *transport.ConfigError
	fmt.Println(errors.As(err, &ce), ce.Option)
	// Output:
	// true <nil>
	// true AttemptTimeout
}
