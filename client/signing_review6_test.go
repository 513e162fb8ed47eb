package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// flakyKeys is a KeySource that fails its first fails calls with err, then
// serves the key.
type flakyKeys struct {
	signer.KeySource
	fails atomic.Int32
	err   error
	calls atomic.Int32
}

func (f *flakyKeys) SigningKey(ctx context.Context) (*signer.Key, error) {
	if f.calls.Add(1) <= f.fails.Load() {
		return nil, f.err
	}
	return f.KeySource.SigningKey(ctx)
}

// TestTransientKeySourceFailureIsRetried: a KeySource that cannot supply
// the key for a moment (an error wrapping signer.ErrKeyUnavailable, or a
// tokens store that is unavailable, locked or timed out) makes the retry
// layer try again, whatever the method: nothing was sent. The attempts that
// failed to sign never reach the host and never count against its breaker.
// A permanent key-source failure is not retried.
func TestTransientKeySourceFailureIsRetried(t *testing.T) {
	storeErr := &tokens.StoreError{Backend: "keyring", Op: "get", Key: "hmac", Err: tokens.ErrLocked}
	for name, tc := range map[string]struct {
		err       error
		transient bool
	}{
		"ErrKeyUnavailable":    {fmt.Errorf("vault: %w", signer.ErrKeyUnavailable), true},
		"tokens store locked":  {storeErr, true},
		"permanent":            {errors.New("no such key"), false},
		"config error":         {&signer.ConfigError{Option: "keys", Reason: "none"}, false},
		"not found in keyring": {&tokens.StoreError{Backend: "keyring", Op: "get", Key: "hmac", Err: tokens.ErrNotFound}, false},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				keys := &flakyKeys{KeySource: hmacKeys(t), err: tc.err}
				keys.fails.Store(2)
				c, next := flakyKeysClient(t, keys)
				req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/pay", strings.NewReader(`{"a":1}`))
				resp, err := c.Do(req)
				if !tc.transient {
					if err == nil {
						resp.Body.Close()
						t.Fatal("permanent key failure: call succeeded")
					}
					if keys.calls.Load() != 1 || next.Calls() != 0 {
						t.Fatalf("permanent key failure: %d key-source calls, %d sent; want 1 and 0 (%v)", keys.calls.Load(), next.Calls(), err)
					}
					return
				}
				if err != nil {
					t.Fatalf("transient key failure not retried: %v (%d key-source calls)", err, keys.calls.Load())
				}
				resp.Body.Close()
				if keys.calls.Load() != 3 || next.Calls() != 1 || transport.Attempts(resp) != 3 {
					t.Fatalf("%d key-source calls, %d sent, %d attempts; want 3, 1, 3", keys.calls.Load(), next.Calls(), transport.Attempts(resp))
				}
				if reqs := next.Requests(); reqs[0].Header.Get("Signature") == "" {
					t.Fatal("request sent unsigned")
				}
			})
		})
	}
}

// flakyKeysClient is a client signing with keys over a responder answering
// 200, three attempts per call; it is closed when the test ends.
func flakyKeysClient(t *testing.T, keys signer.KeySource) (*client.Client, *transporttest.Responder) {
	t.Helper()
	next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
	c, err := client.New(client.WithBaseTransport(next),
		client.WithOrigins("https://api.example.test"),
		client.WithHMACSigning(keys), client.WithMaxAttempts(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, next
}

// TestTransientKeySourceFailureDoesNotOpenBreaker: calls that fail because
// the key source stays unavailable through all their attempts are not host
// failures (far more of them than the breaker's DefaultBreakerConsecutive
// Failures): the next call, once the key is back, is sent.
func TestTransientKeySourceFailureDoesNotOpenBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		keys := &flakyKeys{KeySource: hmacKeys(t), err: signer.ErrKeyUnavailable}
		keys.fails.Store(1 << 30)
		c, next := flakyKeysClient(t, keys)
		const calls = 4 * transport.DefaultBreakerConsecutiveFailures
		for i := range calls {
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1", nil)
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("call %d succeeded with the key unavailable", i)
			}
			if !errors.Is(err, signer.ErrKeyUnavailable) || errors.Is(err, client.ErrCircuitOpen) {
				t.Fatalf("call %d: %v; want ErrKeyUnavailable, not an open circuit", i, err)
			}
		}
		// Each call tried at least once, the first ones three times (the
		// host's retry budget then holds further retries back).
		if n := keys.calls.Load(); n < calls+2 || next.Calls() != 0 {
			t.Fatalf("%d key-source calls, %d sent; want at least %d and 0", n, next.Calls(), calls+2)
		}
		keys.fails.Store(0)
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("after the key is back: %v", err)
		}
		resp.Body.Close()
		if next.Calls() != 1 {
			t.Fatalf("%d sent, want 1", next.Calls())
		}
	})
}
