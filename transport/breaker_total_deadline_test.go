package transport_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
)

// hungHost is a host that takes every request and never answers: it gets
// a connection for the request (net/http's GotConn, as a real transport
// reports it) and waits until the attempt's context ends. With noConn it
// ends before any connection (a request that never reached the host).
type hungHost struct {
	sent   atomic.Int32
	noConn bool
}

func (h *hungHost) RoundTrip(req *http.Request) (*http.Response, error) {
	if !h.noConn {
		h.sent.Add(1)
		c1, c2 := net.Pipe()
		defer c1.Close()
		defer c2.Close()
		if tr := httptrace.ContextClientTrace(req.Context()); tr != nil && tr.GotConn != nil {
			tr.GotConn(httptrace.GotConnInfo{Conn: c1})
		}
	}
	<-req.Context().Done()
	return nil, req.Context().Err()
}

// totalDeadlineStack is a client.New-like stack: a 10 s total timeout,
// retry (one attempt, or two under an attempt timeout), breaker (3
// failures in a row), the attempt timeout (none for 0), base.
func totalDeadlineStack(t *testing.T, base http.RoundTripper, attempt time.Duration) http.RoundTripper {
	t.Helper()
	cfg := transport.ResilienceConfig{TotalTimeout: 10 * time.Second, AttemptTimeout: attempt, DisableThrottle: true}
	cfg.Retry.MaxAttempts = 1
	if attempt > 0 {
		cfg.Retry.MaxAttempts = 2
	}
	cfg.Breaker.ConsecutiveFailures = 3
	rt, err := transport.NewResilience(base, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// The total timeout is securecall's deadline, not the caller's: an attempt
// the host kept until it ran out is a failure of the host, as an attempt
// timeout is. Without that, a client whose attempts are bounded only by
// the total timeout (WithAttemptTimeout(0)), or the last attempt of a call
// under a preset, never counted a hung host, and its breaker never opened.
func TestBreakerCountsTotalTimeoutOfHungHost(t *testing.T) {
	t.Run("no_attempt_timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			host := &hungHost{}
			rt := totalDeadlineStack(t, host, 0)
			for i := range 3 {
				if _, err := resSend(t, t.Context(), rt, resURL); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("call %d: err %v, want the total deadline", i, err)
				}
			}
			_, err := resSend(t, t.Context(), rt, resURL)
			if !errors.Is(err, transport.ErrCircuitOpen) {
				t.Fatalf("after 3 calls the hung host kept until the total timeout: err %v, want ErrCircuitOpen", err)
			}
			if got := host.sent.Load(); got != 3 {
				t.Errorf("%d requests reached the host, want 3 (none while open)", got)
			}
		})
	})
	// A 6 s attempt timeout: a call's first attempt ends by it, its
	// retry (about 4 s left) by the total timeout. Two failures a call.
	t.Run("last_attempt", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			host := &hungHost{}
			rt := totalDeadlineStack(t, host, 6*time.Second)
			for i := range 2 {
				if _, err := resSend(t, t.Context(), rt, resURL); err == nil {
					t.Fatalf("call %d: no error from a hung host", i)
				}
			}
			_, err := resSend(t, t.Context(), rt, resURL)
			if !errors.Is(err, transport.ErrCircuitOpen) {
				t.Fatalf("after 2 calls (4 attempts) to a hung host: err %v, want ErrCircuitOpen", err)
			}
			if got := host.sent.Load(); got != 3 {
				t.Errorf("%d requests reached the host, want 3 (the third failure opens the breaker)", got)
			}
		})
	})
}

// What the caller ends is still never the host's fault, and neither is a
// total timeout that ran out before the request reached the host.
func TestBreakerTotalTimeoutExcludedWhenNotTheHosts(t *testing.T) {
	t.Run("caller_cancel", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := totalDeadlineStack(t, &hungHost{}, 0)
			for range 5 {
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second) // later than the total
				go func() { time.Sleep(5 * time.Second); cancel() }()
				if _, err := resSend(t, ctx, rt, resURL); !errors.Is(err, context.Canceled) {
					t.Fatalf("err %v, want the caller's cancellation", err)
				}
				cancel()
			}
			if _, err := resSend(t, t.Context(), rt, resURL); errors.Is(err, transport.ErrCircuitOpen) {
				t.Fatal("the caller's cancellations opened the breaker")
			}
		})
	})
	t.Run("caller_deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := totalDeadlineStack(t, &hungHost{}, 0)
			for range 5 {
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second) // earlier than the total
				if _, err := resSend(t, ctx, rt, resURL); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err %v, want the caller's deadline", err)
				}
				cancel()
			}
			if _, err := resSend(t, t.Context(), rt, resURL); errors.Is(err, transport.ErrCircuitOpen) {
				t.Fatal("the caller's deadlines opened the breaker")
			}
		})
	})
	t.Run("never_reached", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			host := &hungHost{noConn: true}
			rt := totalDeadlineStack(t, host, 0)
			for range 5 {
				if _, err := resSend(t, t.Context(), rt, resURL); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err %v, want the total deadline", err)
				}
			}
			if _, err := resSend(t, t.Context(), rt, resURL); errors.Is(err, transport.ErrCircuitOpen) {
				t.Fatal("total timeouts of requests that never reached the host opened the breaker")
			}
		})
	})
}
