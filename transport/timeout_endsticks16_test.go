package transport_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// TestBodyEndStaysEndAfterCancelHandBuilt: through a hand-built stack (an
// attempt or total timeout over net/http), a chunked HTTP/1.1 body read to
// its end (io.EOF) before the caller cancels its context still reads as
// ended afterwards (a drain before Close): io.EOF, not context.Canceled,
// which would say the complete body was cut.
func TestBodyEndStaysEndAfterCancelHandBuilt(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first")
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, "second")
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name string
		mk   func(http.RoundTripper, time.Duration) (http.RoundTripper, error)
	}{
		{"attempt", transport.NewAttemptTimeout},
		{"total", func(next http.RoundTripper, d time.Duration) (http.RoundTripper, error) {
			// A waiting layer below materialises the total deadline, as a
			// transport that selects on the request's context does.
			return transport.NewTotalTimeout(doneWaiter{next}, d)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := srv.Client().Transport.(*http.Transport).Clone()
			defer base.CloseIdleConnections()
			rt, err := tc.mk(base, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/", nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.ContentLength >= 0 {
				t.Fatalf("ContentLength %d: not the open-ended body this is about", resp.ContentLength)
			}
			b, err := io.ReadAll(resp.Body)
			if err != nil || string(b) != "firstsecond" {
				t.Fatalf("ReadAll = %q, %v", b, err)
			}
			cancel()
			if n, err := resp.Body.Read(make([]byte, 8)); n != 0 || err != io.EOF {
				t.Fatalf("a read after the body's end, once the context was canceled: %d, %v; want 0, io.EOF", n, err)
			}
		})
	}
}

// doneWaiter calls Done on the request's context before sending it.
type doneWaiter struct{ next http.RoundTripper }

func (d doneWaiter) RoundTrip(req *http.Request) (*http.Response, error) {
	_ = req.Context().Done()
	return d.next.RoundTrip(req)
}
