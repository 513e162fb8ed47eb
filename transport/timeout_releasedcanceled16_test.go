package transport_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
)

type bodyNow16 struct{}

func (bodyNow16) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("x")), ContentLength: 1, ProtoMajor: 1, Request: req}, nil
}

// TestTotalTimeoutReleasedStaysCanceled: once the body is closed, the total
// timeout's context is canceled (NewTotalTimeout), and a context's Err
// never changes once non-nil: it must not become the caller's deadline
// error when the caller's deadline passes later.
func TestTotalTimeoutReleasedStaysCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt, err := transport.NewTotalTimeout(bodyNow16{}, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://example.test/", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		time.Sleep(3 * time.Second)
		if err := resp.Request.Context().Err(); err != context.Canceled {
			t.Errorf("after Close and the caller's deadline: Err %v, want context.Canceled", err)
		}
	})
}
