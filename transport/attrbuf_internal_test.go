package transport

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/internal/redact"
)

// putAttrBuf clears what the attributes built on the buffer wrote there,
// all of it when they outgrew it.
func TestPutAttrBufClearsWhatWasWritten(t *testing.T) {
	for _, n := range []int{0, 1, 9, len(attrBuf{}), len(attrBuf{}) + 3} {
		b := new(attrBuf)
		attrs := b[:0]
		for i := range n {
			attrs = append(attrs, attribute.String("k"+strconv.Itoa(i), "secret"))
		}
		putAttrBuf(b, attrs)
		if *b != (attrBuf{}) {
			t.Errorf("%d attributes: buffer not cleared", n)
		}
	}
}

// After traced calls (a call span standing for the first send, a retry's
// own span, more header attributes than the buffer holds, a failed call),
// every attribute buffer in the pool is all zero: none keeps url.full or a
// header value alive.
func TestAttrBufsPooledClear(t *testing.T) {
	var visible []string
	for i := range 20 {
		visible = append(visible, "X-V"+strconv.Itoa(i))
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewInMemoryExporter()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tc := TraceConfig{TracerProvider: tp, Redaction: &redact.Policy{QueryKeys: []string{"q"}, Headers: visible}}
	n := 0
	var rt http.RoundTripper = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		n++
		h := http.Header{}
		for _, v := range visible {
			h.Set(v, "value-"+v)
		}
		status := http.StatusOK
		if n%2 == 1 {
			status = http.StatusServiceUnavailable
		}
		if n%5 == 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader("ok")), Request: r}, nil
	})
	rt = NewAttemptTrace(rt, tc)
	rt, err := NewRetry(rt, RetryConfig{BaseDelay: time.Microsecond, MaxDelay: time.Microsecond, ServerWaitJitter: -1, Budget: BudgetConfig{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	rt = NewCallTrace(rt, tc)
	for range 6 {
		req, err := http.NewRequest(http.MethodGet, "https://api.example/v1?q=secret-query", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range visible {
			req.Header.Set(v, "request-"+v)
		}
		resp, err := rt.RoundTrip(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	}
	for i := range 64 {
		if b := getAttrBuf(); *b != (attrBuf{}) {
			t.Fatalf("pooled buffer %d not cleared: %v", i, b[:])
		}
	}
}
