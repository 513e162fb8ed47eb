package client_test

import (
	"context"
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

	// Linkage: two call spans, every other span is an attempt span under
	// one of them; the refused port was retried (never sent, so retryable
	// even for POST), and its re-sends carry http.request.resend_count.
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
	if calls != 2 || attempts < 3 || resends != attempts-2 {
		t.Errorf("got %d call spans, %d attempt spans, %d with resend_count; want 2 calls, >= 3 attempts, resends = attempts-2", calls, attempts, resends)
	}
	if gotTraceparent == "" || !strings.Contains(gotTraceparent, ss[0].SpanContext.TraceID().String()) &&
		!strings.Contains(gotTraceparent, ss[1].SpanContext.TraceID().String()) {
		t.Errorf("server got traceparent %q, not of the call's trace", gotTraceparent)
	}
}
