package transport_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/transport"
)

// A traced stack: one call span, which reports the call's first send (a
// resend would get a span of its own, under it), the trace context sent to
// the server, and the query values redacted except those the policy allows.
func ExampleNewCallTrace() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("server got traceparent:", r.Header.Get("Traceparent") != "")
	}))
	defer srv.Close()

	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())

	cfg := transport.TraceConfig{
		TracerProvider: tp,
		Propagator:     propagation.TraceContext{},
		Redaction:      &transport.RedactionPolicy{QueryKeys: []string{"page"}},
	}
	rt := transport.NewCallTrace(
		transport.NewAttemptScope(
			transport.NewAttemptTrace(srv.Client().Transport, cfg)),
		cfg)

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/items?page=2&api_key=s3cr3t", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close() // ends the span (the call's, which also reports its one send)

	for _, s := range spans.GetSpans() {
		for _, a := range s.Attributes {
			switch a.Key {
			case "url.full", transport.AttemptCountKey:
				fmt.Printf("%s span: %s=%s\n", s.Name, a.Key, strings.Replace(a.Value.String(), srv.URL, "http://server", 1))
			}
		}
	}
	// Output:
	// server got traceparent: true
	// GET span: url.full=http://server/items?page=2&api_key=REDACTED
	// GET span: securecall.attempt_count=1
}
