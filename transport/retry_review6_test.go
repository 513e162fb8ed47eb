package transport_test

import (
	"errors"
	"net/http"
	"testing"
	"testing/synctest"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A next that breaks the http.RoundTripper contract by returning neither a
// response nor an error must not crash the retry layer (it already guards
// against the other breach, both at once): the attempt fails with an
// error, retried like any unknown failure, and the call ends with a
// *RetryError, never a nil response without an error.
func TestReview6RetryNextReturnsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		next := transporttest.RoundTripperFunc(func(*http.Request) (*http.Response, error) {
			calls++
			return nil, nil
		})
		rt := newRetry(t, next, transport.RetryConfig{})
		var resp *http.Response
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("the retry layer panicked: %v", r)
				}
			}()
			resp, err = resGet(t, t.Context(), rt)
		}()
		var re *transport.RetryError
		if resp != nil || !errors.As(err, &re) || re.Attempts != 3 || re.Reason != transport.StopAttempts {
			t.Fatalf("resp %v, err %v", resp, err)
		}
		if calls != 3 {
			t.Errorf("%d attempts, want 3 (a GET is replayable)", calls)
		}
	})
}
