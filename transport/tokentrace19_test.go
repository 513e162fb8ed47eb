package transport_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/securecall/securecall/transport"
)

// A token request sent through NewTokenRequests with a Trace gets a client
// span, a child of the span its context carries, ended with the answer's
// body, and an http.client.request.duration measurement; a token endpoint
// that cannot be reached gives the span error.type and status Error, and
// the measurement error.type, with no query value of the token URL in
// either (a tenant, a key). The request sent keeps its form.
func TestTokenRequestsTraceSpanAndMetric(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.PostForm.Get("client_secret") != "CANARY-secret" {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		io.WriteString(w, `{"access_token":"CANARY-access"}`)
	}))
	t.Cleanup(srv.Close)
	dead := httptest.NewTLSServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()

	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	rt, err := transport.NewTokenRequests(srv.Client().Transport, transport.TokenRequestConfig{
		Trace: &transport.TraceConfig{TracerProvider: tp, MeterProvider: mp,
			Redaction: &transport.RedactionPolicy{QueryKeys: []string{"tenant"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, parent := tp.Tracer("test").Start(context.Background(), "call")
	for _, u := range []string{srv.URL, deadURL} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u+"/token?tenant=CANARY-tenant",
			strings.NewReader("grant_type=client_credentials&client_secret=CANARY-secret"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := rt.RoundTrip(req)
		if u == srv.URL {
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: the form did not reach the endpoint", resp.StatusCode)
			}
			if len(spans.GetSpans()) != 0 {
				t.Error("the token span ended before its body was read")
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		} else if err == nil {
			resp.Body.Close()
			t.Fatal("the closed endpoint answered")
		}
	}
	parent.End()
	got := spans.GetSpans()
	if len(got) != 3 {
		t.Fatalf("%d spans, want 2 token spans and the parent", len(got))
	}
	for i, s := range got[:2] {
		if s.Name != "POST" || s.Parent.SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("span %d: %q parent %v, want POST under the call span", i, s.Name, s.Parent.SpanID())
		}
		for _, kv := range s.Attributes {
			if strings.Contains(kv.Value.String(), "CANARY") {
				t.Errorf("span %d attribute %s = %q: a secret", i, kv.Key, kv.Value.String())
			}
		}
		if strings.Contains(s.Status.Description, "CANARY") {
			t.Errorf("span %d status %q: a secret", i, s.Status.Description)
		}
	}
	if v := attr19(got[0].Attributes, "http.response.status_code"); v != "200" {
		t.Errorf("status code %q, want 200", v)
	}
	if v := attr19(got[0].Attributes, "url.full"); v != srv.URL+"/token?tenant=REDACTED" {
		t.Errorf("url.full %q, want the query value redacted", v)
	}
	if v := attr19(got[1].Attributes, "error.type"); v == "" || got[1].Status.Code != codes.Error {
		t.Errorf("unreachable endpoint: error.type %q, status %v; want set, Error", v, got[1].Status.Code)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var points, failed int
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != transport.MetricRequestDuration {
				continue
			}
			for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
				points += int(dp.Count)
				if _, ok := dp.Attributes.Value(attribute.Key("error.type")); ok {
					failed += int(dp.Count)
				}
			}
		}
	}
	if points != 2 || failed != 1 {
		t.Errorf("duration measurements %d (%d failed), want 2 (1 failed)", points, failed)
	}
}

// With no-op tracer and meter providers, and neither an inventory nor an
// audit log, NewTokenRequests adds nothing: a token request costs what it
// did.
func TestTokenRequestsTraceOffAddsNothing(t *testing.T) {
	next := http.DefaultTransport
	rt, err := transport.NewTokenRequests(next, transport.TokenRequestConfig{
		Trace: &transport.TraceConfig{TracerProvider: tracenoop.NewTracerProvider(), MeterProvider: metricnoop.NewMeterProvider()},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rt != next {
		t.Errorf("NewTokenRequests returned %T, want next itself", rt)
	}
}

func attr19(attrs []attribute.KeyValue, k string) string {
	for _, kv := range attrs {
		if string(kv.Key) == k {
			return kv.Value.String()
		}
	}
	return ""
}
