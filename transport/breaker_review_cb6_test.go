package transport_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// An open breaker is not forgotten when the registry is full of other
// hosts: a fresh (closed) breaker would send to the failing host again
// before its open timeout.
func TestBreakerEvictionKeepsOpenHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &resSwitch{step: transporttest.Respond(503, "")}
		rt := newBreaker(t, next, transport.BreakerConfig{OpenTimeout: 5 * time.Minute, MaxHosts: 2})
		for range transport.DefaultBreakerConsecutiveFailures {
			resSend(t, t.Context(), rt, resURL)
		}
		if _, err := resSend(t, t.Context(), rt, resURL); !errors.Is(err, transport.ErrCircuitOpen) {
			t.Fatalf("breaker not open: %v", err)
		}
		next.set(transporttest.Respond(200, ""))
		time.Sleep(time.Minute)
		for _, u := range []string{"https://b.example/", "https://c.example/", "https://d.example/"} {
			if _, err := resSend(t, t.Context(), rt, u); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Second)
		}
		n0 := next.count()
		_, err := resSend(t, t.Context(), rt, resURL)
		if !errors.Is(err, transport.ErrCircuitOpen) || next.count() != n0 {
			t.Errorf("open breaker forgotten: err %v, %d sent", err, next.count()-n0)
		}
	})
}
