package client_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// bodyServer starts a test server, HTTP/2 or HTTP/1.1 only, counting the
// connections it accepts.
func bodyServer(t *testing.T, h2 bool, h http.Handler) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	_, leaf := testPKI()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = h2
	srv.TLS = testTLS(leaf)
	srv.Config.ErrorLog = quietLog()
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// bodyClient builds a client with one concurrency slot, a total timeout,
// one attempt and an in-memory span exporter.
func bodyClient(t *testing.T, origin string, total time.Duration, more ...client.Option) (*client.Client, *tracetest.InMemoryExporter) {
	t.Helper()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	rc := transport.StandardPreset()
	rc.Retry.MaxAttempts = 1
	rc.DisableBreaker = true
	rc.Throttle.Limit = transport.HostLimit{MaxConcurrent: 1}
	rc.Throttle.MaxWait = min(5*time.Second, total/2)
	rc.TotalTimeout = total
	rc.Retry.MaxRetryAfter = total / 2
	rc.AttemptTimeout = 0
	c, err := client.New(opts(loopback(),
		append([]client.Option{
			client.WithOrigins(origin),
			client.WithResilience(rc),
			client.WithTracerProvider(tp),
		}, more...)...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, spans
}

func mustReq(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestBodyCloseDuringReadIsNoError: a caller that closes a body while
// another goroutine's Read waits on it (the caller gives up on a slow
// stream) ends the call as closing it between reads does: the span gets
// no error status or error.type from the Read that the Close cut short
// ("http2: response body closed", "use of closed network connection").
func TestBodyCloseDuringReadIsNoError(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "h1", true: "h2"}[h2], func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			srv, _ := bodyServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(200)
				_, _ = w.Write([]byte("partial"))
				w.(http.Flusher).Flush()
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}))
			c, spans := bodyClient(t, srv.URL, 30*time.Second)
			for i := 0; i < 10; i++ {
				resp, err := c.Do(mustReq(t, http.MethodGet, srv.URL+"/stall"))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadFull(resp.Body, make([]byte, len("partial"))); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { _, err := resp.Body.Read(make([]byte, 64)); done <- err }()
				runtime.Gosched()
				if err := resp.Body.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				if err := <-done; err == nil {
					t.Error("Read cut short by Close: no error")
				}
				got := spans.GetSpans()
				if len(got) != 1 {
					t.Fatalf("spans: %d, want 1", len(got))
				}
				if s := got[0]; s.Status.Code == codes.Error {
					t.Fatalf("call %d: the caller's Close during a Read recorded an error: %v %v", i, s.Status, s.Attributes)
				}
				spans.Reset()
			}
		})
	}
}
