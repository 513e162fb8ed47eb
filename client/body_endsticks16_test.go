package client_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
)

// TestBodyEndStaysEndAfterCancel: a chunked HTTP/1.1 body read to its end
// (io.EOF) while the caller's context held, which the caller then cancels
// (its deferred cancel, or its timeout running out) before a read after
// the end (a drain before Close), still reads as ended: io.EOF, as
// net/http's own body answers, not the context's error, which would say
// the complete body was cut. With and without the client's timeouts.
func TestBodyEndStaysEndAfterCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first")
		w.(http.Flusher).Flush() // chunked: no declared length
		_, _ = io.WriteString(w, "second")
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name string
		o    []client.Option
	}{
		{"no-timeouts", []client.Option{client.WithTimeout(0), client.WithAttemptTimeout(0)}},
		{"total", []client.Option{client.WithTimeout(5 * time.Second), client.WithAttemptTimeout(0)}},
		{"attempt", []client.Option{client.WithTimeout(5 * time.Second), client.WithAttemptTimeout(4 * time.Second)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := client.New(opts(loopback(), append([]client.Option{client.WithOrigins(srv.URL), client.WithMaxAttempts(1), client.WithoutBreaker()}, tc.o...)...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/", nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.ContentLength >= 0 || resp.ProtoMajor != 1 {
				t.Fatalf("ContentLength %d over HTTP/%d: not the open-ended body this is about", resp.ContentLength, resp.ProtoMajor)
			}
			b, err := io.ReadAll(resp.Body)
			if err != nil || string(b) != "firstsecond" {
				t.Fatalf("ReadAll = %q, %v", b, err)
			}
			cancel()
			n, err := resp.Body.Read(make([]byte, 8))
			if n != 0 || err != io.EOF {
				t.Fatalf("a read after the body's end, once the context was canceled: %d, %v; want 0, io.EOF", n, err)
			}
		})
	}
}
