package client_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport/transporttest"
)

// WithTimeout bounds a whole call, as http.Client.Timeout does, redirects
// included; but http.Client follows a redirect above the stack, and every
// hop ran the total timeout again from its own start: a call with a 2 s
// total whose server answered each hop with a redirect after 1.5 s went on
// for 10 hops (15 s) and then failed with "more than 10 redirects". A hop
// now runs under what is left of its call's deadline: the call fails with
// the deadline once it has passed, the next hop never sent.
func TestTotalTimeoutBoundsRedirectChain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sent atomic.Int32
		base := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			n := sent.Add(1)
			select {
			case <-time.After(1500 * time.Millisecond):
			case <-r.Context().Done():
				return nil, r.Context().Err()
			}
			h := http.Header{"Location": {"/hop" + strconv.Itoa(int(n))}}
			return &http.Response{StatusCode: http.StatusFound, Header: h, Body: http.NoBody, Request: r}, nil
		})
		c, err := client.New(client.WithBaseTransport(base), client.WithTimeout(2*time.Second),
			client.WithAttemptTimeout(1900*time.Millisecond), client.WithMaxAttempts(1))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1", nil)
		resp, err := c.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want the call's deadline (context.DeadlineExceeded)", err)
		}
		if n := sent.Load(); n > 2 {
			t.Errorf("%d hops sent in a call of a 2 s total whose every hop takes 1.5 s, want at most 2", n)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("the call took %v (virtual), past its 2 s total", d)
		}
	})
}
