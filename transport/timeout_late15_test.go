package transport_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
)

// lateAnswer never answers before the request's context ends, and then
// returns a 200 without a body, as net/http's transport does when a
// response reaches it while it closes the connection of a canceled
// request ("Check for a response racing the context close, and use the
// response if available"): a Go server whose handler returns when the
// client goes away (its close_notify arrives before the TCP close)
// answers 200 with no content, and that answer wins the race. It counts
// the requests it got.
type lateAnswer struct{ n atomic.Int64 }

func (l *lateAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	l.n.Add(1)
	if req.Body != nil {
		_ = req.Body.Close()
	}
	<-req.Context().Done()
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody, ContentLength: 0, Request: req}, nil
}

// TestAttemptTimeoutLateAnswer: an answer the next transport hands back
// only after the attempt's deadline ran out (and it canceled the request)
// is an attempt timeout, not a success: the caller of a server that never
// answered got a 200 with an empty body, and a POST without a key looked
// done.
func TestAttemptTimeoutLateAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &lateAnswer{}
		rt, err := transport.NewAttemptTimeout(next, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := resGet(t, t.Context(), rt)
		var ae *transport.AttemptTimeoutError
		if !errors.As(err, &ae) || !errors.Is(err, context.DeadlineExceeded) || resp != nil {
			t.Errorf("standalone: got %v, %v; want an *AttemptTimeoutError and no response", resp, err)
		}
	})
}

// TestAttemptTimeoutLateAnswerRetried: in a stack, the late answer is an
// attempt timeout like any other: retried when the request is replayable,
// and a POST without a key is sent once and fails.
func TestAttemptTimeoutLateAnswerRetried(t *testing.T) {
	for _, tc := range []struct {
		name, method, key string
		attempts          int
		reason            transport.StopReason
	}{
		{"GET", http.MethodGet, "", 3, transport.StopAttempts},
		{"POST", http.MethodPost, "", 1, transport.StopNotReplayable},
		{"POST+key", http.MethodPost, "k1", 3, transport.StopAttempts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				next := &lateAnswer{}
				rt, err := transport.NewResilience(next, transport.ResilienceConfig{
					TotalTimeout:   10 * time.Second,
					AttemptTimeout: time.Second,
					Retry:          transport.RetryConfig{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond},
				})
				if err != nil {
					t.Fatal(err)
				}
				var body *strings.Reader
				req, _ := http.NewRequestWithContext(t.Context(), tc.method, resURL, nil)
				if tc.method == http.MethodPost {
					body = strings.NewReader(`{"a":1}`)
					req, _ = http.NewRequestWithContext(t.Context(), tc.method, resURL, body)
				}
				if tc.key != "" {
					req.Header.Set("Idempotency-Key", tc.key)
				}
				resp, err := rt.RoundTrip(req)
				if resp != nil {
					resp.Body.Close()
					t.Fatalf("a %d answer the attempt timeout had given up on was returned (attempts %d); sent %d", resp.StatusCode, transport.Attempts(resp), next.n.Load())
				}
				var re *transport.RetryError
				var ae *transport.AttemptTimeoutError
				if !errors.As(err, &re) || !errors.As(err, &ae) {
					t.Fatalf("err %v, want a *RetryError over an *AttemptTimeoutError", err)
				}
				if re.Attempts != tc.attempts || re.Reason != tc.reason || next.n.Load() != int64(tc.attempts) {
					t.Errorf("%d attempts (%s), %d sent; want %d (%s)", re.Attempts, re.Reason, next.n.Load(), tc.attempts, tc.reason)
				}
			})
		})
	}
}

// TestTotalTimeoutLateAnswer: the same late answer to the last attempt,
// after the total timeout ran out, ends the call as the total timeout
// does, not as a success.
func TestTotalTimeoutLateAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &lateAnswer{}
		rt, err := transport.NewResilience(next, transport.ResilienceConfig{
			TotalTimeout:   2 * time.Second,
			AttemptTimeout: 1500 * time.Millisecond,
			Retry:          transport.RetryConfig{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond},
		})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := resGet(t, t.Context(), rt)
		if resp != nil {
			resp.Body.Close()
			t.Fatalf("a %d answer after the total timeout was returned", resp.StatusCode)
		}
		var re *transport.RetryError
		if !errors.As(err, &re) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want a *RetryError matching context.DeadlineExceeded", err)
		}
		if re.Attempts != 2 || next.n.Load() != 2 {
			t.Errorf("%d attempts, %d sent; want 2", re.Attempts, next.n.Load())
		}
	})
}
