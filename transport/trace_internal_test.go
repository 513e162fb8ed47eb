package transport

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// countingSpan counts End calls and records the status.
type countingSpan struct {
	noop.Span
	ends   atomic.Int32
	mu     sync.Mutex
	status codes.Code
	desc   string
}

func (s *countingSpan) End(...trace.SpanEndOption)          { s.ends.Add(1) }
func (s *countingSpan) IsRecording() bool                   { return true }
func (s *countingSpan) SetAttributes(...attribute.KeyValue) {}
func (s *countingSpan) SetStatus(c codes.Code, d string) {
	s.mu.Lock()
	s.status, s.desc = c, d
	s.mu.Unlock()
}

// TestTracedBodyEndsOnce races Read, Close and a second Close: the span
// ends exactly once.
func TestTracedBodyEndsOnce(t *testing.T) {
	for range 50 {
		span := &countingSpan{}
		var b tracedBody
		rc := b.wrap(t.Context(), io.NopCloser(strings.NewReader(strings.Repeat("x", 1000))), span, &telemetry{})
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = io.Copy(io.Discard, rc) })
		wg.Go(func() { _ = rc.Close() })
		wg.Go(func() { _ = rc.Close() })
		wg.Wait()
		if n := span.ends.Load(); n != 1 {
			t.Fatalf("span ended %d times", n)
		}
	}
}

func TestTracedBodyReadError(t *testing.T) {
	span := &countingSpan{}
	var b tracedBody
	boom := errors.New("boom")
	rc := b.wrap(t.Context(), io.NopCloser(io.MultiReader(strings.NewReader("ab"), &failReader{boom})), span, &telemetry{})
	if _, err := io.ReadAll(rc); !errors.Is(err, boom) {
		t.Fatalf("ReadAll error %v", err)
	}
	if span.ends.Load() != 1 || span.status != codes.Error || span.desc != "boom" {
		t.Errorf("after a read error: ends %d status %v %q", span.ends.Load(), span.status, span.desc)
	}
	_ = rc.Close()
	if span.ends.Load() != 1 {
		t.Error("Close after a read error ended the span again")
	}
}

// TestTracedBodyCloseCutsRead: a Read that fails because Close, on another
// goroutine, closed the body under it (an HTTP/2 body: "response body
// closed"), and ends the span before Close gets to, ends it without an
// error, as the Close would have.
func TestTracedBodyCloseCutsRead(t *testing.T) {
	span := &countingSpan{}
	var b tracedBody
	cut := &cutBody{unblock: make(chan struct{}), readDone: make(chan struct{})}
	rc := b.wrap(t.Context(), cut, span, &telemetry{})
	go func() {
		_, _ = rc.Read(make([]byte, 8))
		close(cut.readDone)
	}()
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	if span.ends.Load() != 1 || span.status == codes.Error {
		t.Errorf("Read cut short by Close: ends %d status %v %q", span.ends.Load(), span.status, span.desc)
	}
}

// cutBody's Read waits until Close, which waits until that Read has
// returned.
type cutBody struct{ unblock, readDone chan struct{} }

func (c *cutBody) Read([]byte) (int, error) {
	<-c.unblock
	return 0, errors.New("response body closed")
}

func (c *cutBody) Close() error {
	close(c.unblock)
	<-c.readDone
	return nil
}

type failReader struct{ err error }

func (r *failReader) Read([]byte) (int, error) { return 0, r.err }

func TestHeaderCarrier(t *testing.T) {
	h := http.Header{}
	c := headerCarrier(h)
	c.Set("traceparent", "tp")
	c.Set("tracestate", "ts")
	c.Set("baggage", "b")
	c.Set("x-b3-traceid", "b3")
	for k, v := range map[string]string{"Traceparent": "tp", "Tracestate": "ts", "Baggage": "b", "X-B3-Traceid": "b3"} {
		if got := h[k]; len(got) != 1 || got[0] != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if c.Get("TRACEPARENT") != "tp" || len(c.Keys()) != 4 {
		t.Errorf("Get/Keys: %q %v", c.Get("TRACEPARENT"), c.Keys())
	}
	if n := testing.AllocsPerRun(100, func() { c.Set("traceparent", "tp") }); n != 1 {
		t.Errorf("Set of a known header: %v allocs, want 1 (the value slice)", n)
	}
}

func TestOptCacheBounded(t *testing.T) {
	var c optCache[int, int]
	for i := range maxCacheEntries + 10 {
		c.store(i, i*2)
	}
	if n := len(*c.m.Load()); n != maxCacheEntries {
		t.Errorf("cache holds %d entries, want the bound %d", n, maxCacheEntries)
	}
	if v, ok := c.load(3); !ok || v != 6 {
		t.Errorf("load(3) = %d, %v", v, ok)
	}
	if _, ok := c.load(maxCacheEntries + 5); ok {
		t.Error("an entry past the bound was stored")
	}
}

func TestStatusString(t *testing.T) {
	for _, c := range []int{100, 404, 599, 600, 99, 1000} {
		if got := statusString(c); got != strconv.Itoa(c) {
			t.Errorf("statusString(%d) = %q", c, got)
		}
	}
}

func TestServerOf(t *testing.T) {
	for _, c := range []struct {
		url, host string
		port      int
	}{
		{"https://api.example.test/x", "api.example.test", 443},
		{"http://api.example.test/x", "api.example.test", 80},
		{"https://api.example.test:8443/x", "api.example.test", 8443},
		{"https://[::1]:9/x", "::1", 9},
		{"ftp://h/x", "h", 0},
	} {
		req, _ := http.NewRequest("GET", c.url, nil)
		if h, p := serverOf(req.URL); h != c.host || p != c.port {
			t.Errorf("serverOf(%s) = %s, %d", c.url, h, p)
		}
	}
}
