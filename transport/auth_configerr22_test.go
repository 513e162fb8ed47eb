package transport_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// TestAuthSourceConfigErrorNotRetried: a token source that fails with a
// *tokens.ConfigError (a zero tokens.Cache, a FromStore secret under the
// key the Cache persists its token to) fails the same way on every
// attempt until its configuration is changed: AuthError.Temporary is now
// false and the call fails after one try, where the retry layer asked the
// source again MaxAttempts times (and, through a Cache, waited for each
// backoff step first).
func TestAuthSourceConfigErrorNotRetried(t *testing.T) {
	var calls atomic.Int32
	src := tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
		calls.Add(1)
		return tokens.Token{}, errors.Join(errors.New("tokens: read client secret"), &tokens.ConfigError{Option: "WithPersistence", Reason: "key clash"})
	})
	var sends atomic.Int32
	api := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sends.Add(1)
		return nil, errors.New("not reached")
	})
	rt, err := transport.NewRetry(newAuth(t, api, src), transport.RetryConfig{
		MaxAttempts: 3, BaseDelay: time.Microsecond, MaxDelay: time.Microsecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(authReq(t, "GET", "https://api.example.test/", ""))
	if resp != nil {
		resp.Body.Close()
	}
	ae, ok := errors.AsType[*transport.AuthError](err)
	if !ok {
		t.Fatalf("err %v, want an *AuthError", err)
	}
	if _, ok := errors.AsType[*tokens.ConfigError](err); !ok {
		t.Errorf("err %v does not reach the *ConfigError", err)
	}
	if ae.Temporary() {
		t.Error("Temporary() = true for a configuration error")
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("source asked %d times for one call (MaxAttempts 3), want 1", n)
	}
	if n := sends.Load(); n != 0 {
		t.Errorf("%d requests sent without a token", n)
	}
}
