package transport_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// freshTokens hands out a new token on every request.
type freshTokens struct{ n atomic.Int32 }

func (s *freshTokens) Token(context.Context) (tokens.Token, error) {
	return tokens.NewToken("t"+string(rune('0'+s.n.Add(1))), "Bearer", time.Time{}), nil
}
func (s *freshTokens) Invalidate(tokens.Token) bool { return true }

// keysFailingOn fails its nth SigningKey with ErrKeyUnavailable.
type keysFailingOn struct {
	k    *signer.Key
	fail int32
	n    atomic.Int32
}

func (f *keysFailingOn) SigningKey(context.Context) (*signer.Key, error) {
	if f.n.Add(1) == f.fail {
		return nil, signer.ErrKeyUnavailable
	}
	return f.k, nil
}

// A retry the host answered with 401, whose replay then could not be
// signed, was sent: the sign failure that ends it does not give the retry
// back to the budget (no more than the *AuthError of a failed replay token
// does). Any refusal on the auth layer's replay follows a send.
func TestBudgetNotRefundedForRefusalOfThe401Replay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			calls++
			if calls == 2 { // the first call's retry
				return &http.Response{StatusCode: 401, Header: http.Header{"Www-Authenticate": {`Bearer error="invalid_token"`}}, Body: http.NoBody, Request: req}, nil
			}
			return &http.Response{StatusCode: 503, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		})
		// Keys: the first attempt (1), the retry (2), its replay (3, fails).
		s, err := signer.New(signer.Options{Keys: &keysFailingOn{k: signKey(t), fail: 3}})
		if err != nil {
			t.Fatal(err)
		}
		sign, err := transport.NewSign(next, transport.SignConfig{Signer: s, Scope: mustOrigins(t, "https://api.example.test")})
		if err != nil {
			t.Fatal(err)
		}
		rt := newRetry(t, newAuth(t, sign, &freshTokens{}), transport.RetryConfig{MaxAttempts: 2, Backoff: resFixedBackoff(time.Millisecond), Budget: oneRetryBudget})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
		if resp, err := rt.RoundTrip(req); err == nil {
			resp.Body.Close()
			t.Fatalf("first call: status %d, want the replay's sign failure", resp.StatusCode)
		}
		req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 503 || calls != 3 {
			t.Errorf("second call: status %d after %d sent in all, want 503 after 3 (the budget spent by the 401'd retry)", resp.StatusCode, calls)
		}
	})
}
