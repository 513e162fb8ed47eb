package transport_test

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestBreakerStateHookPanicKeepsResponse: a BreakerConfig.OnStateChange
// that panicked (a bug in the caller's hook, a notification) while the
// breaker recorded an attempt's outcome unwound through the layer with the
// attempt's response in hand: the caller lost it, and its body and
// connection leaked. The breaker's state has changed before the hook is
// called, so the panic is recovered and logged (slog's default logger,
// naming the hook and the panic value's type only), as OnPinEvent's is,
// and the call goes on: the response is returned, and the breaker is open.
func TestBreakerStateHookPanicKeepsResponse(t *testing.T) {
	var logs lockedBuffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })

	next := transporttest.NewResponder(transporttest.Respond(500, "down"), transporttest.Respond(200, "ok"))
	rt := newBreaker(t, next, transport.BreakerConfig{
		ConsecutiveFailures: 1,
		OnStateChange: func(string, transport.BreakerState, transport.BreakerState) {
			panic("hook bug: s3cret")
		},
	})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
	var (
		resp     *http.Response
		err      error
		panicked any
	)
	func() {
		defer func() { panicked = recover() }()
		resp, err = rt.RoundTrip(req)
	}()
	if panicked != nil {
		t.Fatalf("RoundTrip panicked with the hook's panic (%v): the response is lost (%v)", panicked, next.Unclosed())
	}
	if err != nil || resp.StatusCode != 500 {
		t.Fatalf("got %v, %v; want the 500 response", resp, err)
	}
	resp.Body.Close()
	if err := next.Unclosed(); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.RoundTrip(req.Clone(req.Context())); !errors.Is(err, transport.ErrCircuitOpen) {
		t.Fatalf("second call: %v; want ErrCircuitOpen (the breaker opened, hook or no hook)", err)
	}
	out := logs.String()
	if !strings.Contains(out, "BreakerConfig.OnStateChange") || !strings.Contains(out, "panic_type=string") || strings.Contains(out, "s3cret") {
		t.Fatalf("log %q: want the hook and the panic type named, never the panic's text", out)
	}
}
