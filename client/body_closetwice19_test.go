package client_test

import (
	"net/http"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport/transporttest"
)

// A caller closing a response body twice (a deferred Close after an
// explicit one, a common pattern) closed the base transport's body twice
// with WithMaxResponseBytes(-1): the limits layer, whose body closes what
// is under it once, is then left out, and the timeouts' and the
// throttle's wrappers passed every Close on. io.Closer leaves a second
// Close undefined, and a WithBaseTransport's body is the caller's own
// transport's. (A body no layer wraps is the base's own, as with
// net/http.)
func TestBodyClosedTwiceClosesBaseBodyOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []client.Option
	}{
		{"default", nil},
		{"no-body-limit", []client.Option{client.WithMaxResponseBytes(-1)}},
		{"no-body-limit-no-throttle", []client.Option{client.WithMaxResponseBytes(-1), client.WithoutThrottle()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body *transporttest.TrackedBody
			base := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
				body = transporttest.NewTrackedBody([]byte("hello"))
				return &http.Response{StatusCode: 200, Header: http.Header{}, ContentLength: 5, Body: body, Request: r}, nil
			})
			c, err := client.New(append([]client.Option{client.WithBaseTransport(base)}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1", nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			resp.Body.Close()
			if n := body.CloseCount(); n != 1 {
				t.Errorf("base body closed %d times, want 1", n)
			}
		})
	}
}
