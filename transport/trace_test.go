package transport_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/securecall/securecall/internal/redact"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// canary is a secret the tests put everywhere a caller might put one.
const canary = "CANARY7f3e9a1c"

// otelRig is a real OTel SDK: an in-memory span exporter behind a
// synchronous processor and a manual metric reader.
type otelRig struct {
	spans  *tracetest.InMemoryExporter
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	cfg    transport.TraceConfig
}

func newOtelRig(t *testing.T, policy *redact.Policy, opts ...sdktrace.TracerProviderOption) *otelRig {
	t.Helper()
	r := &otelRig{spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	r.tp = sdktrace.NewTracerProvider(append([]sdktrace.TracerProviderOption{sdktrace.WithSyncer(r.spans)}, opts...)...)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	t.Cleanup(func() {
		_ = r.tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	r.cfg = transport.TraceConfig{
		TracerProvider: r.tp,
		MeterProvider:  mp,
		Propagator:     propagation.TraceContext{},
		Redaction:      policy,
	}
	return r
}

// twoLevel makes the call span an internal span, so that every send,
// the first included, gets its own client span: the two-level tree the
// attempt-span tests look at. With the default (client) call span, a call's
// first send reports on the call span itself (TestTraceFirstSendOnCallSpan).
func (r *otelRig) twoLevel() *otelRig {
	r.cfg.CallSpanKind = trace.SpanKindInternal
	return r
}

// stack is the minimal traced stack: call trace, one attempt, attempt trace.
func (r *otelRig) stack(base http.RoundTripper) http.RoundTripper {
	return transport.NewCallTrace(transport.NewAttemptScope(transport.NewAttemptTrace(base, r.cfg)), r.cfg)
}

func (r *otelRig) ended() tracetest.SpanStubs { return r.spans.GetSpans() }

func (r *otelRig) metrics(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

// spanByKind splits the ended spans into the call span (the one without an
// SDK parent in this trace) and the attempt spans.
func splitSpans(t *testing.T, spans tracetest.SpanStubs) (call tracetest.SpanStub, attempts []tracetest.SpanStub) {
	t.Helper()
	ids := map[trace.SpanID]bool{}
	for _, s := range spans {
		ids[s.SpanContext.SpanID()] = true
	}
	found := false
	for _, s := range spans {
		if ids[s.Parent.SpanID()] {
			attempts = append(attempts, s)
			continue
		}
		if found {
			t.Fatalf("two root spans: %q and %q", call.Name, s.Name)
		}
		call, found = s, true
	}
	if !found {
		t.Fatalf("no call span among %d spans", len(spans))
	}
	return call, attempts
}

func attr(s tracetest.SpanStub, key attribute.Key) (attribute.Value, bool) {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value, true
		}
	}
	return attribute.Value{}, false
}

func wantAttr(t *testing.T, s tracetest.SpanStub, key attribute.Key, want any) {
	t.Helper()
	v, ok := attr(s, key)
	if !ok {
		t.Errorf("span %q: no %s attribute (have %v)", s.Name, key, s.Attributes)
		return
	}
	if got := v.AsInterface(); !equalValue(got, want) {
		t.Errorf("span %q: %s = %#v, want %#v", s.Name, key, got, want)
	}
}

func equalValue(got, want any) bool {
	switch w := want.(type) {
	case int:
		g, ok := got.(int64)
		return ok && g == int64(w)
	case []string:
		g, ok := got.([]string)
		return ok && slices.Equal(g, w)
	}
	return got == want
}

func noAttr(t *testing.T, s tracetest.SpanStub, key attribute.Key) {
	t.Helper()
	if v, ok := attr(s, key); ok {
		t.Errorf("span %q: unexpected %s = %v", s.Name, key, v.String())
	}
}

// dumpSpans renders every part of the spans a secret could hide in.
func dumpSpans(spans tracetest.SpanStubs) string {
	var b strings.Builder
	kv := func(attrs []attribute.KeyValue) {
		for _, a := range attrs {
			b.WriteString(string(a.Key) + "=" + a.Value.String() + "\n")
		}
	}
	for _, s := range spans {
		b.WriteString("span " + s.Name + "\n")
		kv(s.Attributes)
		for _, e := range s.Events {
			b.WriteString("event " + e.Name + "\n")
			kv(e.Attributes)
		}
		for _, l := range s.Links {
			kv(l.Attributes)
		}
		b.WriteString("status " + s.Status.Description + "\n")
		if s.Resource != nil {
			kv(s.Resource.Attributes())
		}
	}
	return b.String()
}

// dumpMetrics renders the names and every attribute of the data points.
func dumpMetrics(rm metricdata.ResourceMetrics) string {
	var b strings.Builder
	set := func(s attribute.Set) {
		for _, a := range s.ToSlice() {
			b.WriteString(string(a.Key) + "=" + a.Value.String() + "\n")
		}
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			b.WriteString("metric " + m.Name + " " + m.Description + "\n")
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					set(p.Attributes)
					for _, e := range p.Exemplars {
						for _, a := range e.FilteredAttributes {
							b.WriteString(a.Value.String())
						}
					}
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					set(p.Attributes)
					for _, e := range p.Exemplars {
						for _, a := range e.FilteredAttributes {
							b.WriteString(a.Value.String())
						}
					}
				}
			default:
				b.WriteString("unknown data type\n")
			}
		}
	}
	return b.String()
}

// clientRT sends through an http.Client, so its errors are *url.Error
// values that carry the full URL, query string included, like those an
// auth layer gets from a token endpoint.
type clientRT struct{ hc *http.Client }

func (c clientRT) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.RequestURI = ""
	return c.hc.Do(r)
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestTraceRedactsCanary is the redaction guarantee: a canary secret in the
// query, the userinfo, credential headers and the body of requests that
// succeed, fail with a status and fail to connect appears in no span name,
// attribute, event, link or status, no metric attribute, and no error the
// layers return; while the values the allowlist names do appear.
func TestTraceRedactsCanary(t *testing.T) {
	t.Run("first send on the call span", func(t *testing.T) { testTraceRedactsCanary(t, false) })
	t.Run("two levels", func(t *testing.T) { testTraceRedactsCanary(t, true) })
}

func testTraceRedactsCanary(t *testing.T, twoLevel bool) {
	policy := &redact.Policy{
		QueryKeys: []string{"page"},
		// Credential headers are listed on purpose: they must stay hidden.
		Headers: []string{"X-Request-Id", "Authorization", "X-Api-Key", "Cookie", "Content-Type"},
	}
	rig := newOtelRig(t, policy)
	if twoLevel {
		rig.twoLevel()
	}

	var mu sync.Mutex
	var seen []string // what the server received, to prove the canary was sent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, r.URL.RawQuery+" "+r.Header.Get("Authorization")+" "+r.Header.Get("X-Api-Key")+" "+string(body))
		mu.Unlock()
		w.Header().Set("X-Request-Id", "resp-id")
		w.Header().Set("Set-Cookie", "session="+canary)
		if strings.HasSuffix(r.URL.Path, "/fail") {
			w.WriteHeader(http.StatusInternalServerError)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	base := srv.Client().Transport.(*http.Transport).Clone()
	defer base.CloseIdleConnections()

	host := strings.TrimPrefix(srv.URL, "http://")
	dead := closedAddr(t)
	secretURL := func(h, path string) string {
		return "http://user:" + canary + "@" + h + path + "?api_key=" + canary + "&page=2&" + canary + "#" + canary
	}
	type canaryCall struct {
		name, method, url string
		base              http.RoundTripper
		wantErr           bool
	}
	calls := []canaryCall{
		{"get ok", http.MethodGet, secretURL(host, "/v1/items"), base, false},
		{"post 500", http.MethodPost, secretURL(host, "/v1/fail"), base, false},
		{"refused, transport error", http.MethodGet, secretURL(dead, "/v1/items"), base, true},
		{"refused, *url.Error", http.MethodPut, secretURL(dead, "/v1/items"), clientRT{&http.Client{Transport: base}}, true},
	}
	var errs []string
	for _, c := range calls {
		req, err := http.NewRequest(c.method, c.url, strings.NewReader(`{"password":"`+canary+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+canary)
		req.Header.Set("X-Api-Key", canary)
		req.Header.Set("Cookie", "session="+canary)
		req.Header.Set("X-Request-Id", "req-id")
		resp, err := rig.stack(c.base).RoundTrip(req)
		if c.wantErr {
			if err == nil {
				resp.Body.Close()
				t.Fatalf("%s: no error", c.name)
			}
			if c.name == "refused, *url.Error" {
				var ue *url.Error
				if !errors.As(err, &ue) {
					t.Fatalf("%s: %T is not a *url.Error: the case does not test URL redaction", c.name, err)
				}
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("%s: errors.Is(ECONNREFUSED) lost through redaction: %v", c.name, err)
			}
			errs = append(errs, err.Error())
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}

	mu.Lock()
	if len(seen) != 2 || !strings.Contains(seen[0], "api_key="+canary) || !strings.Contains(seen[0], "Bearer "+canary) ||
		!strings.Contains(seen[1], `"password":"`+canary) {
		t.Fatalf("the server did not receive the canary, the test proves nothing: %q", seen)
	}
	mu.Unlock()

	spans := rig.ended()
	if want := map[bool]int{false: 4, true: 8}[twoLevel]; len(spans) != want {
		t.Fatalf("%d spans ended, want %d (4 calls, one span per send plus, in two levels, one per call)", len(spans), want)
	}
	dump := dumpSpans(spans) + dumpMetrics(rig.metrics(t)) + strings.Join(errs, "\n")
	if strings.Contains(dump, canary) {
		t.Errorf("canary leaked:\n%s", dump)
	}
	for _, forbidden := range []string{"user", "http.request.header.authorization", "http.request.header.x-api-key", "http.request.header.cookie", "set-cookie"} {
		if strings.Contains(dump, forbidden) {
			t.Errorf("%q in telemetry:\n%s", forbidden, dump)
		}
	}
	for _, e := range errs {
		if !strings.Contains(e, "api_key=REDACTED") && !strings.Contains(e, "connection refused") {
			t.Errorf("error lost its meaning: %q", e)
		}
	}
	// The allowlist: page's value, X-Request-Id on request and response.
	for _, s := range spans {
		v, _ := attr(s, "url.full")
		if !strings.Contains(v.AsString(), "page=2") || !strings.Contains(v.AsString(), "api_key=REDACTED") {
			t.Errorf("span %q: url.full = %q, want page=2 shown and api_key redacted", s.Name, v.AsString())
		}
	}
	if twoLevel {
		call, attempts := splitSpans(t, spans[:2])
		if len(attempts) != 1 {
			t.Fatalf("first call: %d attempt spans", len(attempts))
		}
		wantAttr(t, attempts[0], "http.request.header.x-request-id", []string{"req-id"})
		wantAttr(t, attempts[0], "http.response.header.x-request-id", []string{"resp-id"})
		noAttr(t, call, "http.request.header.x-request-id")
	} else {
		wantAttr(t, spans[0], "http.request.header.x-request-id", []string{"req-id"})
		wantAttr(t, spans[0], "http.response.header.x-request-id", []string{"resp-id"})
	}
	if !strings.Contains(dump, "status dial tcp") && !strings.Contains(dump, "connection refused") {
		t.Errorf("the failed calls' status descriptions are missing:\n%s", dump)
	}
}

// TestTraceSpansParentChildAndPropagation runs two attempts under one call
// (the way the retry layer does) and checks the tree, resend_count, the
// attempt count and the traceparent the server receives.
func TestTraceSpansParentChildAndPropagation(t *testing.T) {
	rig := newOtelRig(t, nil).twoLevel()
	next := transporttest.NewResponder(transporttest.Respond(503, "busy"), transporttest.Respond(200, "ok"))
	attempt := transport.NewAttemptTrace(next, rig.cfg)
	var attemptsSeen []int
	retry := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := attempt.RoundTrip(transport.BeginAttempt(req, 0))
		if err != nil {
			return nil, err
		}
		attemptsSeen = append(attemptsSeen, transport.CallAttempts(req.Context()))
		transport.AddEvent(req.Context(), transport.EventRetryScheduled, attribute.Int("attempt", 1))
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		resp, err = attempt.RoundTrip(transport.BeginAttempt(req, 1))
		attemptsSeen = append(attemptsSeen, transport.CallAttempts(req.Context()))
		return resp, err
	})
	stack := transport.NewCallTrace(retry, rig.cfg)
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/items?id=7", nil)
	resp, err := stack.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	if !slices.Equal(attemptsSeen, []int{1, 2}) {
		t.Errorf("CallAttempts = %v, want [1 2]", attemptsSeen)
	}
	call, attempts := splitSpans(t, rig.ended())
	if len(attempts) != 2 {
		t.Fatalf("%d attempt spans, want 2", len(attempts))
	}
	if call.Name != "GET" || call.SpanKind != trace.SpanKindInternal {
		t.Errorf("call span %q kind %v, want GET internal", call.Name, call.SpanKind)
	}
	wantAttr(t, call, transport.AttemptCountKey, 2)
	wantAttr(t, call, "http.response.status_code", 200)
	wantAttr(t, call, "http.request.method", "GET")
	wantAttr(t, call, "server.address", "api.example.test")
	wantAttr(t, call, "server.port", 443)
	wantAttr(t, call, "url.full", "https://api.example.test/v1/items?id=REDACTED")
	if call.Status.Code != codes.Unset {
		t.Errorf("call span status %v, want unset", call.Status)
	}
	if len(call.Events) != 1 || call.Events[0].Name != transport.EventRetryScheduled {
		t.Errorf("call span events = %v, want one %s", call.Events, transport.EventRetryScheduled)
	}
	recs := next.Requests()
	for i, a := range attempts {
		if a.Parent.SpanID() != call.SpanContext.SpanID() || a.SpanContext.TraceID() != call.SpanContext.TraceID() {
			t.Errorf("attempt %d is not a child of the call span", i)
		}
		if a.Name != "GET" || a.SpanKind != trace.SpanKindClient {
			t.Errorf("attempt span %q kind %v", a.Name, a.SpanKind)
		}
		wantAttr(t, a, "url.full", "https://api.example.test/v1/items?id=REDACTED")
		wantAttr(t, a, "network.protocol.version", "1.1")
		// The server saw this attempt's span as its parent.
		tp := recs[i].Header.Get("traceparent")
		want := "00-" + a.SpanContext.TraceID().String() + "-" + a.SpanContext.SpanID().String() + "-01"
		if tp != want {
			t.Errorf("attempt %d: server got traceparent %q, want %q", i, tp, want)
		}
	}
	noAttr(t, attempts[0], "http.request.resend_count")
	wantAttr(t, attempts[0], "http.response.status_code", 503)
	wantAttr(t, attempts[0], "error.type", "503")
	if attempts[0].Status.Code != codes.Error || attempts[0].Status.Description != "" {
		t.Errorf("503 attempt status = %+v, want Error without description", attempts[0].Status)
	}
	wantAttr(t, attempts[1], "http.request.resend_count", 1)
	wantAttr(t, attempts[1], "http.response.status_code", 200)
	noAttr(t, attempts[1], "error.type")
	if req.Header.Get("traceparent") != "" {
		t.Error("the caller's request got a traceparent header")
	}

	// Metrics: one duration measurement for the call, two attempts.
	rm := rig.metrics(t)
	h := findHistogram(t, rm, transport.MetricRequestDuration)
	if len(h.DataPoints) != 1 || h.DataPoints[0].Count != 1 {
		t.Fatalf("duration data points = %+v, want one with count 1", h.DataPoints)
	}
	wantSet(t, h.DataPoints[0].Attributes, map[string]any{
		"http.request.method": "GET", "server.address": "api.example.test", "server.port": int64(443),
		"http.response.status_code": int64(200),
	})
	if !slices.Equal(h.DataPoints[0].Bounds, []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}) {
		t.Errorf("duration buckets = %v", h.DataPoints[0].Bounds)
	}
	m := findMetric(t, rm, transport.MetricRequestDuration)
	if m.Unit != "s" {
		t.Errorf("duration unit %q, want s", m.Unit)
	}
	sum := findMetric(t, rm, transport.MetricAttempts)
	if sum.Unit != "{attempt}" {
		t.Errorf("attempts unit %q", sum.Unit)
	}
	counts := map[string]int64{}
	for _, p := range sum.Data.(metricdata.Sum[int64]).DataPoints {
		o, _ := p.Attributes.Value(transport.OutcomeKey)
		counts[o.AsString()] += p.Value
		wantSet(t, p.Attributes, map[string]any{"http.request.method": "GET", "server.address": "api.example.test", string(transport.OutcomeKey): o.AsString()})
	}
	if counts["503"] != 1 || counts["ok"] != 1 || len(counts) != 2 {
		t.Errorf("attempt outcomes = %v, want 503:1 ok:1", counts)
	}
}

func findMetric(t *testing.T, rm metricdata.ResourceMetrics, name string) metricdata.Metrics {
	t.Helper()
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m
			}
		}
	}
	t.Fatalf("no metric %s", name)
	return metricdata.Metrics{}
}

func findHistogram(t *testing.T, rm metricdata.ResourceMetrics, name string) metricdata.Histogram[float64] {
	t.Helper()
	h, ok := findMetric(t, rm, name).Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s is not a float64 histogram", name)
	}
	return h
}

func wantSet(t *testing.T, s attribute.Set, want map[string]any) {
	t.Helper()
	if s.Len() != len(want) {
		t.Errorf("attributes %v, want %v", s.ToSlice(), want)
		return
	}
	for k, w := range want {
		v, ok := s.Value(attribute.Key(k))
		if !ok || v.AsInterface() != w {
			t.Errorf("attribute %s = %v, want %v (set %v)", k, v.AsInterface(), w, s.ToSlice())
		}
	}
}

// TestTraceSpanEndsWithBody: the spans end when the body is closed or read
// to EOF, not when RoundTrip returns.
func TestTraceSpanEndsWithBody(t *testing.T) {
	t.Run("close", func(t *testing.T) {
		rig := newOtelRig(t, nil).twoLevel()
		resp, err := rig.stack(transporttest.NewResponder(transporttest.Respond(200, "hello world"))).RoundTrip(trReq(t, "GET"))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(rig.ended()); n != 0 {
			t.Fatalf("%d spans ended before the body was read", n)
		}
		buf := make([]byte, 5)
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			t.Fatal(err)
		}
		if n := len(rig.ended()); n != 0 {
			t.Fatalf("%d spans ended after a partial read", n)
		}
		resp.Body.Close()
		if n := len(rig.ended()); n != 2 {
			t.Fatalf("%d spans ended after Close, want 2", n)
		}
		resp.Body.Close()
		if n := len(rig.ended()); n != 2 {
			t.Fatalf("%d spans after a second Close, want 2", n)
		}
	})
	t.Run("eof", func(t *testing.T) {
		rig := newOtelRig(t, nil).twoLevel()
		resp, err := rig.stack(transporttest.NewResponder(transporttest.Respond(200, "hello world"))).RoundTrip(trReq(t, "GET"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil || string(b) != "hello world" {
			t.Fatalf("body %q, %v", b, err)
		}
		if n := len(rig.ended()); n != 2 {
			t.Fatalf("%d spans ended at EOF, want 2", n)
		}
		resp.Body.Close()
		if n := len(rig.ended()); n != 2 {
			t.Fatalf("%d spans after Close, want 2", n)
		}
	})
	t.Run("no body", func(t *testing.T) {
		rig := newOtelRig(t, nil).twoLevel()
		resp, err := rig.stack(transporttest.NewResponder(transporttest.Respond(204, ""))).RoundTrip(trReq(t, "GET"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Body != http.NoBody {
			t.Errorf("204 body is %T, want http.NoBody", resp.Body)
		}
		if n := len(rig.ended()); n != 2 {
			t.Fatalf("%d spans ended for a response without body, want 2", n)
		}
	})
	t.Run("nil body from next", func(t *testing.T) {
		rig := newOtelRig(t, nil).twoLevel()
		next := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Request: r}, nil
		})
		resp, err := rig.stack(next).RoundTrip(trReq(t, "GET"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Body == nil {
			t.Fatal("nil body returned")
		}
		if n := len(rig.ended()); n != 2 {
			t.Fatalf("%d spans ended, want 2", n)
		}
	})
	t.Run("read error", func(t *testing.T) {
		rig := newOtelRig(t, nil).twoLevel()
		readErr := &url.Error{Op: "read", URL: "https://api.example.test/x?token=" + canary, Err: io.ErrClosedPipe}
		next := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1, Body: io.NopCloser(&errReader{readErr}), Request: r}, nil
		})
		resp, err := rig.stack(next).RoundTrip(trReq(t, "GET"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(resp.Body); !errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("read error %v, want the body's own error", err)
		}
		spans := rig.ended()
		if len(spans) != 2 {
			t.Fatalf("%d spans ended after a read error, want 2", len(spans))
		}
		for _, s := range spans {
			if s.Status.Code != codes.Error || !strings.Contains(s.Status.Description, "token=REDACTED") {
				t.Errorf("span %q status %+v, want Error with the redacted message", s.Name, s.Status)
			}
		}
		if d := dumpSpans(spans); strings.Contains(d, canary) {
			t.Errorf("canary leaked:\n%s", d)
		}
		resp.Body.Close()
	})
	t.Run("writable body", func(t *testing.T) {
		rig := newOtelRig(t, nil).twoLevel()
		rw := &rwBody{}
		next := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 101, ProtoMajor: 1, ProtoMinor: 1, Body: rw, Request: r}, nil
		})
		resp, err := rig.stack(next).RoundTrip(trReq(t, "GET"))
		if err != nil {
			t.Fatal(err)
		}
		w, ok := resp.Body.(io.Writer)
		if !ok {
			t.Fatalf("the 101 body %T lost io.Writer", resp.Body)
		}
		if _, err := io.WriteString(w, "ping"); err != nil || rw.written.String() != "ping" {
			t.Fatalf("write through the wrapper: %q, %v", rw.written.String(), err)
		}
		resp.Body.Close()
		if n := len(rig.ended()); n != 2 {
			t.Fatalf("%d spans ended, want 2", n)
		}
	})
}

type errReader struct{ err error }

func (r *errReader) Read([]byte) (int, error) { return 0, r.err }

type rwBody struct {
	written strings.Builder
}

func (b *rwBody) Read([]byte) (int, error)    { return 0, io.EOF }
func (b *rwBody) Write(p []byte) (int, error) { return b.written.Write(p) }
func (b *rwBody) Close() error                { return nil }

func trReq(t *testing.T, method string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, "https://api.example.test/v1/items?id=7", nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestTraceMethodNormalised(t *testing.T) {
	for _, m := range []string{"FOO", "get"} {
		rig := newOtelRig(t, nil)
		resp, err := rig.stack(transporttest.NewResponder(transporttest.Respond(200, ""))).RoundTrip(trReq(t, m))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		call, attempts := splitSpans(t, rig.ended())
		for _, s := range append(attempts, call) {
			if s.Name != "HTTP" {
				t.Errorf("%s: span name %q, want HTTP", m, s.Name)
			}
			wantAttr(t, s, "http.request.method", "_OTHER")
			wantAttr(t, s, "http.request.method_original", m)
		}
	}
}

func TestTraceErrors(t *testing.T) {
	secretErr := func() error {
		return &url.Error{Op: "Post", URL: "https://api.example.test/token?client_secret=" + canary, Err: context.DeadlineExceeded}
	}
	layers := map[string]func(rig *otelRig, next http.RoundTripper) (http.RoundTripper, int){
		"stack": func(rig *otelRig, next http.RoundTripper) (http.RoundTripper, int) { return rig.stack(next), 2 },
		"call": func(rig *otelRig, next http.RoundTripper) (http.RoundTripper, int) {
			return transport.NewCallTrace(next, rig.cfg), 1
		},
		"attempt": func(rig *otelRig, next http.RoundTripper) (http.RoundTripper, int) {
			return transport.NewAttemptTrace(next, rig.cfg), 1
		},
	}
	for name, layer := range layers {
		t.Run(name, func(t *testing.T) {
			rig := newOtelRig(t, nil).twoLevel()
			rt, nspans := layer(rig, transporttest.NewResponder(transporttest.Fail(secretErr())))
			_, err := rt.RoundTrip(trReq(t, "POST"))
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("returned error keeps the secret: %v", err)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("errors.Is(DeadlineExceeded) lost: %v", err)
			}
			spans := rig.ended()
			if len(spans) != nspans {
				t.Fatalf("%d spans, want %d", len(spans), nspans)
			}
			for _, s := range spans {
				wantAttr(t, s, "error.type", transport.ErrorTypeTimeout)
				noAttr(t, s, "http.response.status_code")
				if s.Status.Code != codes.Error || !strings.Contains(s.Status.Description, "client_secret=REDACTED") {
					t.Errorf("span %q status %+v", s.Name, s.Status)
				}
			}
			if d := dumpSpans(spans) + dumpMetrics(rig.metrics(t)); strings.Contains(d, canary) {
				t.Errorf("canary leaked:\n%s", d)
			}
			if name != "stack" {
				return
			}
			call, _ := splitSpans(t, spans)
			wantAttr(t, call, transport.AttemptCountKey, 1)
			h := findHistogram(t, rig.metrics(t), transport.MetricRequestDuration)
			wantSet(t, h.DataPoints[0].Attributes, map[string]any{
				"http.request.method": "POST", "server.address": "api.example.test", "server.port": int64(443), "error.type": "timeout",
			})
		})
	}
}

// TestTraceNotSampled: with sampling off no span is recorded, but the
// trace context is still propagated (sampled flag 00) and metrics still
// recorded.
func TestTraceNotSampled(t *testing.T) {
	rig := newOtelRig(t, nil, sdktrace.WithSampler(sdktrace.NeverSample()))
	next := transporttest.NewResponder(transporttest.Respond(200, "x"))
	resp, err := rig.stack(next).RoundTrip(trReq(t, "GET"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := resp.Body.(*transporttest.TrackedBody); !ok {
		t.Errorf("body of an unsampled call was wrapped: %T", resp.Body)
	}
	resp.Body.Close()
	if n := len(rig.ended()); n != 0 {
		t.Errorf("%d spans recorded with NeverSample", n)
	}
	tp := next.Requests()[0].Header.Get("Traceparent")
	if !strings.HasPrefix(tp, "00-") || !strings.HasSuffix(tp, "-00") {
		t.Errorf("traceparent %q, want an unsampled one", tp)
	}
	if h := findHistogram(t, rig.metrics(t), transport.MetricRequestDuration); len(h.DataPoints) != 1 {
		t.Errorf("duration not recorded without sampling")
	}
}

// TestTraceStandaloneAttempt: the attempt layer used alone (no call span,
// no attempt scope) clones before injecting and still traces.
func TestTraceStandaloneAttempt(t *testing.T) {
	rig := newOtelRig(t, nil)
	next := transporttest.NewResponder(transporttest.Respond(200, "x"))
	req := trReq(t, "GET")
	req.Header.Set("Traceparent", "00-11111111111111111111111111111111-2222222222222222-01")
	resp, err := transport.NewAttemptTrace(next, rig.cfg).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := req.Header.Get("Traceparent"); got != "00-11111111111111111111111111111111-2222222222222222-01" {
		t.Errorf("caller's traceparent changed to %q", got)
	}
	spans := rig.ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	if got := next.Requests()[0].Header.Get("Traceparent"); !strings.Contains(got, spans[0].SpanContext.SpanID().String()) {
		t.Errorf("next got traceparent %q, want the attempt span's", got)
	}
}

// TestTraceEventsTarget: AddEvent below the attempt layer lands on the
// attempt span; CallAttempts sees the send.
func TestTraceEventsTarget(t *testing.T) {
	rig := newOtelRig(t, nil).twoLevel()
	var inside int
	next := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		inside = transport.CallAttempts(r.Context())
		transport.AddEvent(r.Context(), transport.EventPinMismatch, attribute.String("host", "api.example.test"))
		transport.AddEvent(r.Context(), transport.EventTokenRefreshed)
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})
	resp, err := rig.stack(next).RoundTrip(trReq(t, "GET"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if inside != 1 {
		t.Errorf("CallAttempts inside the attempt = %d, want 1", inside)
	}
	call, attempts := splitSpans(t, rig.ended())
	if len(call.Events) != 0 {
		t.Errorf("call span got events %v", call.Events)
	}
	ev := attempts[0].Events
	if len(ev) != 2 || ev[0].Name != transport.EventPinMismatch || ev[1].Name != transport.EventTokenRefreshed ||
		len(ev[0].Attributes) != 1 || ev[0].Attributes[0].Value.AsString() != "api.example.test" {
		t.Errorf("attempt span events = %+v", ev)
	}
	if transport.CallAttempts(context.Background()) != 0 {
		t.Error("CallAttempts outside a call != 0")
	}
}

func TestAddEventNotRecordingAllocs(t *testing.T) {
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		transport.AddEvent(ctx, transport.EventThrottled, attribute.String("host", "h"), attribute.Int("wait_ms", 10))
	}); n != 0 {
		t.Errorf("AddEvent without a recording span: %v allocs, want 0", n)
	}
}

// TestTraceCallSpanKind: CallSpanKind changes the call span's kind only.
func TestTraceCallSpanKind(t *testing.T) {
	rig := newOtelRig(t, nil)
	rig.cfg.CallSpanKind = trace.SpanKindInternal
	resp, err := rig.stack(transporttest.NewResponder(transporttest.Respond(200, ""))).RoundTrip(trReq(t, "GET"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	call, attempts := splitSpans(t, rig.ended())
	if call.SpanKind != trace.SpanKindInternal || attempts[0].SpanKind != trace.SpanKindClient {
		t.Errorf("kinds: call %v attempt %v", call.SpanKind, attempts[0].SpanKind)
	}
}

func TestTraceConformance(t *testing.T) {
	rig := newOtelRig(t, &redact.Policy{QueryKeys: []string{"x"}})
	t.Run("call", func(t *testing.T) {
		transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
			return transport.NewCallTrace(next, rig.cfg)
		})
	})
	t.Run("attempt", func(t *testing.T) {
		transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
			return transport.NewAttemptTrace(next, rig.cfg)
		})
	})
	t.Run("stack", func(t *testing.T) {
		transporttest.Conformance(t, rig.stack)
	})
	t.Run("global providers", func(t *testing.T) {
		transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
			return transport.NewCallTrace(transport.NewAttemptTrace(next, transport.TraceConfig{}), transport.TraceConfig{})
		})
	})
}

// attrSampler samples everything and records the attributes it was shown.
type attrSampler struct {
	mu   sync.Mutex
	seen [][]attribute.KeyValue
}

func (s *attrSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	s.mu.Lock()
	s.seen = append(s.seen, slices.Clone(p.Attributes))
	s.mu.Unlock()
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample}
}

func (s *attrSampler) Description() string { return "attrSampler" }

// TestTraceStartAttributes: the sampler sees method and server at span start
// only with StartAttributes; the exported spans carry them either way.
func TestTraceStartAttributes(t *testing.T) {
	for _, start := range []bool{false, true} {
		sampler := &attrSampler{}
		rig := newOtelRig(t, nil, sdktrace.WithSampler(sampler))
		rig.cfg.StartAttributes = start
		for range 2 { // the second call uses the cached options
			resp, err := rig.stack(transporttest.NewResponder(transporttest.Respond(200, "x"))).RoundTrip(trReq(t, "PUT"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		if len(sampler.seen) != 2 { // one span per call: the first send reports on it
			t.Fatalf("sampler consulted %d times, want 2", len(sampler.seen))
		}
		for _, attrs := range sampler.seen {
			if got := len(attrs); (start && got != 3) || (!start && got != 0) {
				t.Errorf("StartAttributes=%v: sampler saw %v", start, attrs)
			}
		}
		for _, s := range rig.ended() {
			wantAttr(t, s, "http.request.method", "PUT")
			wantAttr(t, s, "server.address", "api.example.test")
			wantAttr(t, s, "server.port", 443)
			if n := len(s.Attributes); n > 0 {
				keys := map[attribute.Key]bool{}
				for _, a := range s.Attributes {
					if keys[a.Key] {
						t.Errorf("StartAttributes=%v: span %q has %s twice", start, s.Name, a.Key)
					}
					keys[a.Key] = true
				}
			}
		}
	}
}

// failingMeter refuses to create instruments, as a broken or misconfigured
// MeterProvider may.
type failingMeterProvider struct{ metricnoop.MeterProvider }

func (failingMeterProvider) Meter(string, ...metric.MeterOption) metric.Meter { return failingMeter{} }

type failingMeter struct{ metricnoop.Meter }

func (failingMeter) Float64Histogram(string, ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	return nil, errors.New("no histograms today")
}

func (failingMeter) Int64Counter(string, ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	return nil, errors.New("no counters today")
}

// TestTraceMeterFailure: instruments the provider refuses are replaced by
// no-ops (the error goes to otel.Handle); calls still work and are traced.
func TestTraceMeterFailure(t *testing.T) {
	prev := otel.GetErrorHandler()
	var handled []error
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { handled = append(handled, err) }))
	defer otel.SetErrorHandler(prev)
	rig := newOtelRig(t, nil)
	rig.cfg.MeterProvider = failingMeterProvider{}
	stack := rig.stack(transporttest.NewResponder(transporttest.Respond(200, "x")))
	if len(handled) != 2 {
		t.Errorf("otel.Handle got %v, want the two instrument errors", handled)
	}
	resp, err := stack.RoundTrip(trReq(t, "GET"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := len(rig.ended()); n != 1 {
		t.Errorf("%d spans, want 1", n)
	}
}

// Visible headers whose values are URLs (Location, Referer, the URLs of a
// Link, its anchor parameters too) are redacted as url.full is: a query secret in a redirect target or in the page a
// request came from stays hidden while the allowlisted parameters show.
func TestTraceVisibleURLHeadersRedacted(t *testing.T) {
	policy := &redact.Policy{QueryKeys: []string{"page"}, Headers: []string{"Location", "Referer", "Link", "X-Request-Id"}}
	for _, twoLevel := range []bool{false, true} {
		rig := newOtelRig(t, policy)
		if twoLevel {
			rig.twoLevel()
		}
		base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			h := http.Header{}
			h.Set("Location", "https://user:"+canary+"@cdn.example.test/next?token="+canary+"&page=3")
			h.Set("X-Request-Id", "id-"+canary) // not a URL: shown as it is
			h.Set("Link", `<https://api.example.test/v1?page=2&sig=`+canary+`>; rel="next"; Anchor="https://api.example.test/doc?sig=`+canary+`", </v1?page=0&sig=`+canary+`>; rel="first"; anchor=/doc?sig=`+canary+`, <broken?sig=`+canary)
			return &http.Response{StatusCode: 302, Header: h, Body: http.NoBody, Request: r}, nil
		})
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1", nil)
		req.Header.Set("Referer", "/from?sig="+canary+"&page=2")
		resp, err := rig.stack(base).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		spans := rig.ended()
		s := spans[0]
		if twoLevel {
			_, attempts := splitSpans(t, spans)
			s = attempts[0]
		}
		wantAttr(t, s, "http.response.header.location", []string{"https://cdn.example.test/next?token=REDACTED&page=3"})
		wantAttr(t, s, "http.request.header.referer", []string{"/from?sig=REDACTED&page=2"})
		wantAttr(t, s, "http.response.header.link", []string{`<https://api.example.test/v1?page=2&sig=REDACTED>; rel="next"; Anchor="https://api.example.test/doc?sig=REDACTED", </v1?page=0&sig=REDACTED>; rel="first"; anchor=/doc?sig=REDACTED, <broken?sig=REDACTED`})
		wantAttr(t, s, "http.response.header.x-request-id", []string{"id-" + canary})
		if d := dumpSpans(spans); strings.Count(d, canary) != 1 {
			t.Errorf("twoLevel %v: the canary outside X-Request-Id:\n%s", twoLevel, d)
		}
	}
}

// The auth layer's replay after a 401 is a resend like a retry: its span
// carries http.request.resend_count (the sends of the call before it),
// though it belongs to the first attempt.
func TestTraceReplayAfter401IsAResend(t *testing.T) {
	rig := newOtelRig(t, nil).twoLevel()
	next := transporttest.NewResponder(
		transporttest.Respond(401, "token rejected", "WWW-Authenticate", `Bearer error="invalid_token"`),
		transporttest.Respond(200, "ok"),
	)
	auth := newAuth(t, transport.NewAttemptTrace(next, rig.cfg), authCache(t, &seqSource{}))
	rt := transport.NewCallTrace(transport.NewAttemptScope(auth), rig.cfg)
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1", nil)
	roundTripOK(t, rt, req)
	_, sends := splitSpans(t, rig.ended())
	if len(sends) != 2 {
		t.Fatalf("%d send spans, want 2 (the 401, the replay)", len(sends))
	}
	first, replay := sends[0], sends[1]
	if v, _ := attr(first, "http.response.status_code"); v.AsInt64() != 401 {
		first, replay = replay, first // ended out of order
	}
	noAttr(t, first, "http.request.resend_count")
	wantAttr(t, replay, "http.request.resend_count", 1)
}
