package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/securecall/securecall/client"
)

// TestTelemetryNeverCarriesSecrets sends a canary secret in the query, in
// userinfo, in credential headers and in the body, once to a live server and
// once to a refused port, and then searches every span, event, status,
// metric attribute and returned error for it.
func TestTelemetryNeverCarriesSecrets(t *testing.T) {
	const canary = "CANARY-5b1e0c"
	var gotTraceparent string
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotTraceparent = r.Header.Get("Traceparent")
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusForbidden) // an error status, so status messages are written
		io.WriteString(w, "denied "+canary)
	}))
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := ln.Addr().String()
	ln.Close()

	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	c, err := client.New(opts(loopback(),
		client.WithOrigins(srv.URL, "https://"+deadAddr),
		client.WithTracerProvider(tp),
		client.WithMeterProvider(mp),
		client.WithPropagator(propagation.TraceContext{}),
		client.WithVisibleQueryKeys("page"),
		client.WithVisibleHeaders("X-Request-Id"),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var errs []string
	for _, base := range []string{srv.URL, "https://" + deadAddr} {
		u := strings.Replace(base, "https://", "https://user:"+canary+"@", 1) + "/v1/items?token=" + canary + "&page=7"
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, u, strings.NewReader(`{"secret":"`+canary+`"}`))
		req.Header.Set("Authorization", "Bearer "+canary)
		req.Header.Set("X-Api-Key", canary)
		resp, err := c.Do(req)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if len(errs) != 1 {
		t.Fatalf("want exactly one failed call (the refused port), got %d: %v", len(errs), errs)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	dump := fmt.Sprintf("%+v\n%+v\n%v", spans.GetSpans(), rm, errs)
	if strings.Contains(dump, canary) {
		t.Fatalf("canary found in telemetry or errors:\n%s", dump)
	}
	if !strings.Contains(dump, "page=7") {
		t.Errorf("allowlisted query value page=7 not shown in url.full")
	}

	// Linkage: two call spans (each also reporting its call's first send),
	// every other span is a resend's span under one of them; the refused
	// port was retried (never sent, so retryable even for POST), and its
	// re-sends carry http.request.resend_count.
	ss := spans.GetSpans()
	byID := map[string]tracetest.SpanStub{}
	for _, s := range ss {
		byID[s.SpanContext.SpanID().String()] = s
	}
	var calls, attempts, resends int
	for _, s := range ss {
		p, ok := byID[s.Parent.SpanID().String()]
		if !ok {
			calls++
			continue
		}
		attempts++
		if p.SpanContext.TraceID() != s.SpanContext.TraceID() {
			t.Error("attempt span not in its call's trace")
		}
		for _, a := range s.Attributes {
			if a.Key == "http.request.resend_count" && a.Value.AsInt64() > 0 {
				resends++
			}
		}
	}
	if calls != 2 || attempts < 1 || resends != attempts {
		t.Errorf("got %d call spans, %d resend spans, %d with resend_count; want 2 calls, >= 1 resend, all with resend_count", calls, attempts, resends)
	}
	if gotTraceparent == "" || !strings.Contains(gotTraceparent, ss[0].SpanContext.TraceID().String()) &&
		!strings.Contains(gotTraceparent, ss[1].SpanContext.TraceID().String()) {
		t.Errorf("server got traceparent %q, not of the call's trace", gotTraceparent)
	}
}

// WithCallSpanKind(Internal) gives the strict two-level tree: an internal
// span per call and a client span per send, the first included; other
// kinds are refused.
func TestWithCallSpanKind(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), client.WithTracerProvider(tp),
		client.WithCallSpanKind(trace.SpanKindInternal))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ss := spans.GetSpans()
	if len(ss) != 2 {
		t.Fatalf("%d spans, want 2", len(ss))
	}
	kinds := map[trace.SpanKind]int{}
	for _, s := range ss {
		kinds[s.SpanKind]++
	}
	if kinds[trace.SpanKindInternal] != 1 || kinds[trace.SpanKindClient] != 1 {
		t.Errorf("span kinds %v, want one internal and one client", kinds)
	}

	_, err = client.New(client.WithCallSpanKind(trace.SpanKindServer))
	var ce *client.ConfigError
	if !errors.As(err, &ce) || ce.Option != "WithCallSpanKind" {
		t.Fatalf("server kind: %v", err)
	}
}
