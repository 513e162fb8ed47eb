package transport_test

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
)

// deafSlow answers 204 after three seconds without ever looking at the
// request's context (an in-process handler, a canned transport).
type deafSlow struct{}

func (deafSlow) RoundTrip(req *http.Request) (*http.Response, error) {
	time.Sleep(3 * time.Second)
	return &http.Response{StatusCode: http.StatusNoContent, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
}

// TestAttemptTimeoutDeafTransportAnswers: the answer of a transport that
// never waited on the attempt's deadline is no late answer (nothing was
// canceled under it): a standalone attempt timeout returns it, as the
// attempt timeout in a stack (under the retry layer) does. It was an
// *AttemptTimeoutError standalone and a 204 in the stack.
func TestAttemptTimeoutDeafTransportAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		at, err := transport.NewAttemptTimeout(deafSlow{}, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		rt, err := transport.NewRetry(at, transport.RetryConfig{})
		if err != nil {
			t.Fatal(err)
		}
		for name, rt := range map[string]http.RoundTripper{"standalone": at, "under retry": rt} {
			resp, err := resGet(t, t.Context(), rt)
			if err != nil || resp == nil || resp.StatusCode != http.StatusNoContent {
				t.Errorf("%s: got %v, %v; want the 204", name, resp, err)
				continue
			}
			_ = resp.Body.Close()
		}
	})
}
