package openapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport/transporttest"
)

// errAfterBody yields its bytes, then fails every Read with err; it
// records whether it was closed.
type errAfterBody struct {
	r      io.Reader
	err    error
	mu     sync.Mutex
	closed bool
}

func (b *errAfterBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		err = b.err
	}
	return n, err
}

func (b *errAfterBody) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

func (b *errAfterBody) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// eventSpan is a recording span that keeps the names and attributes of its
// events.
type eventSpan struct {
	noop.Span
	mu     sync.Mutex
	events map[string][]attribute.KeyValue
}

func (s *eventSpan) IsRecording() bool { return true }

func (s *eventSpan) AddEvent(name string, opts ...trace.EventOption) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.events == nil {
		s.events = map[string][]attribute.KeyValue{}
	}
	cfg := trace.NewEventConfig(opts...)
	s.events[name] = cfg.Attributes()
}

var errUpstreamReset = errors.New("upstream reset")

func failingResponder(body *errAfterBody) http.RoundTripper {
	return transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: body, ContentLength: -1, Request: req}, nil
	})
}

// TestReportOnlyResponseReadErrorPassesThrough: in ReportOnly mode the
// call goes on unchanged, so a response body that fails while the layer
// reads it for validation reaches the caller as it would without the
// layer: the bytes read, then the same error. The validation is reported
// as skipped (a span event), not as a violation.
func TestReportOnlyResponseReadErrorPassesThrough(t *testing.T) {
	upstream := &errAfterBody{r: strings.NewReader(`{"id":7,"na`), err: errUpstreamReset}
	var violations int
	rt := newLayer(t, failingResponder(upstream), openapi.Config{Mode: openapi.ReportOnly,
		OnViolation: func(context.Context, *openapi.Violation) { violations++ }})
	span := &eventSpan{}
	ctx := trace.ContextWithSpan(context.Background(), span)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.test/v1/pets/7", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("report-only failed the call: %v", err)
	}
	got, rerr := io.ReadAll(resp.Body)
	if string(got) != `{"id":7,"na` || !errors.Is(rerr, errUpstreamReset) {
		t.Fatalf("body %q, read error %v; want the bytes read then %v", got, rerr, errUpstreamReset)
	}
	if upstream.isClosed() {
		t.Fatal("upstream body closed before the caller closed the response")
	}
	resp.Body.Close()
	if !upstream.isClosed() {
		t.Fatal("upstream body not closed by the caller's Close")
	}
	if violations != 0 {
		t.Fatalf("%d violations reported for a body that could not be read", violations)
	}
	span.mu.Lock()
	attrs, ok := span.events[openapi.EventSchemaSkipped]
	span.mu.Unlock()
	if !ok {
		t.Fatalf("no %s event; events %v", openapi.EventSchemaSkipped, span.events)
	}
	set := attribute.NewSet(attrs...)
	if v, _ := set.Value("securecall.schema.direction"); v.AsString() != "response" {
		t.Fatalf("skipped event attributes %v", attrs)
	}
}

// TestEnforceResponseReadErrorWrapped: in Enforce mode a response body
// that cannot be read fails the call, with an error that says where and
// wraps the upstream's, and the upstream body is closed.
func TestEnforceResponseReadErrorWrapped(t *testing.T) {
	upstream := &errAfterBody{r: strings.NewReader(`{"id":7`), err: errUpstreamReset}
	rt := newLayer(t, failingResponder(upstream), openapi.Config{})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/pets/7", nil)
	resp, err := rt.RoundTrip(req)
	if resp != nil || !errors.Is(err, errUpstreamReset) || !strings.HasPrefix(err.Error(), "openapi: ") {
		t.Fatalf("resp %v err %v, want a wrapped %v", resp, err, errUpstreamReset)
	}
	if !upstream.isClosed() {
		t.Fatal("upstream body not closed")
	}
}
