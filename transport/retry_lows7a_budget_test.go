package transport_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// budgetProbe makes two calls through rt (at most one retry each, one
// retry allowed per window by the budget): the first call's retry is
// refused below the retry layer before anything is sent; the second call's
// retry must then still find the budget, the refused retry given back. It
// reports the second call's status.
func budgetProbe(t *testing.T, rt http.RoundTripper, hdr http.Header) int {
	t.Helper()
	for i := range 2 {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := rt.RoundTrip(req)
		if i == 0 {
			if err == nil {
				resp.Body.Close()
				t.Fatalf("first call: status %d, want its retry's refusal", resp.StatusCode)
			}
			continue
		}
		if err != nil {
			t.Fatalf("second call: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	return 0
}

// Every refusal below the retry layer that proves the retry was never
// sent gives the retry back to the budget, not only the breaker's and the
// throttle's: an HTTP/2 header refusal (matched as ErrInvalidRequest
// after the attempt), an egress denial, a credential the auth layer could
// not get.
func TestBudgetRefundedForEveryRefusalBeforeSending(t *testing.T) {
	tests := []struct {
		name string
		hdr  http.Header
		err  error
	}{
		{"http2 header", http.Header{"Upgrade": {"websocket"}}, errors.New("http2: invalid Upgrade request header: [\"websocket\"]")},
		{"egress", nil, &transport.EgressError{Origin: transport.Origin{Scheme: "https", Host: "api.example.test", Port: "443"}, Reason: "not allowed"}},
		{"auth", nil, &transport.AuthError{Layer: "auth", Err: errors.New("token endpoint unreachable")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				calls := 0
				next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
					calls++
					switch calls {
					case 1, 3: // each call's first attempt
						return &http.Response{StatusCode: 503, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
					case 2: // the first call's retry: refused below, nothing sent
						return nil, tc.err
					}
					return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
				})
				rt := newRetry(t, next, transport.RetryConfig{MaxAttempts: 2, Backoff: resFixedBackoff(time.Millisecond), Budget: oneRetryBudget})
				if st := budgetProbe(t, rt, tc.hdr); st != 200 || calls != 4 {
					t.Errorf("second call: status %d after %d attempts in all, want 200 after 4 (the refused retry refunded)", st, calls)
				}
			})
		})
	}
}

// A retry the sign layer could not sign (its key source briefly down) was
// never sent: it is given back to the budget.
func TestBudgetRefundedWhenSignRefusesRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			calls++
			if calls <= 2 { // each call's first attempt
				return &http.Response{StatusCode: 503, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
			}
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		})
		s, err := signer.New(signer.Options{Keys: &keysFailingOn{k: signKey(t), fail: 2}})
		if err != nil {
			t.Fatal(err)
		}
		sign, err := transport.NewSign(next, transport.SignConfig{Signer: s, Scope: mustOrigins(t, "https://api.example.test")})
		if err != nil {
			t.Fatal(err)
		}
		rt := newRetry(t, sign, transport.RetryConfig{MaxAttempts: 2, Backoff: resFixedBackoff(time.Millisecond), Budget: oneRetryBudget})
		if st := budgetProbe(t, rt, nil); st != 200 || calls != 3 {
			t.Errorf("second call: status %d after %d sent in all, want 200 after 3 (the unsigned retry refunded)", st, calls)
		}
	})
}

// A retry the host saw is not given back: a dial failure (the host, or
// what stands in front of it, refused or dropped the connection) or a
// REFUSED_STREAM counts, or the budget would not bound the load of an
// outage that shows as refused connections.
func TestBudgetNotRefundedForDialFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			calls++
			if calls == 2 {
				return nil, &url.Error{Op: "Get", URL: resURL, Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
			}
			return &http.Response{StatusCode: 503, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		})
		rt := newRetry(t, next, transport.RetryConfig{MaxAttempts: 2, Backoff: resFixedBackoff(time.Millisecond), Budget: oneRetryBudget})
		for range 2 {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
			if resp, err := rt.RoundTrip(req); err == nil {
				resp.Body.Close()
			}
		}
		if calls != 3 {
			t.Errorf("%d attempts in all, want 3 (the dial-failed retry counted, the second call's retry refused)", calls)
		}
	})
}

// failingReplaySource hands out a token, except on its third request
// (the replay after the retry's 401), which fails.
type failingReplaySource struct{ n atomic.Int32 }

func (s *failingReplaySource) Token(context.Context) (tokens.Token, error) {
	if s.n.Add(1) == 3 {
		return tokens.Token{}, errors.New("token endpoint unreachable")
	}
	return tokens.NewToken("t"+string(rune('0'+s.n.Load())), "Bearer", time.Time{}), nil
}
func (s *failingReplaySource) Invalidate(tokens.Token) bool { return true }

// A retry the host answered with 401, whose replay then found no
// credential, was sent: the *AuthError that ends it does not give the
// retry back.
func TestBudgetNotRefundedForAuthErrorAfter401(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			calls++
			if calls == 2 { // the first call's retry
				return &http.Response{StatusCode: 401, Header: http.Header{"Www-Authenticate": {`Bearer error="invalid_token"`}}, Body: http.NoBody, Request: req}, nil
			}
			return &http.Response{StatusCode: 503, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		})
		rt := newRetry(t, newAuth(t, next, &failingReplaySource{}), transport.RetryConfig{MaxAttempts: 2, Backoff: resFixedBackoff(time.Millisecond), Budget: oneRetryBudget})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
		if _, err := rt.RoundTrip(req); !errors.As(err, new(*transport.AuthError)) {
			t.Fatalf("first call: err %v, want an *AuthError", err)
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
