package transport_test

import (
	"net/http"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// The call and attempt spans and http.client.request.duration named the
// server as the URL spelled it ("API.Example.com.", "bücher.example"),
// while the inventory and the resilience metrics name it by its host key
// (lower case, one trailing dot removed, punycode), so a backend saw one
// server as two. server.address is the key's host, as hostKeyAttrs gives
// it.
func TestTraceServerAddressNormalised(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"https://API.Example.com./x", "api.example.com"},
		{"https://api.example.com./x", "api.example.com"},
		{"https://Api.Example.Com:8443/x", "api.example.com"},
		{"https://BÜCHER.example/x", "xn--bcher-kva.example"},
		{"https://bücher.example./x", "xn--bcher-kva.example"},
		{"https://api.example.com/x", "api.example.com"},
	} {
		t.Run(c.url, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			reader := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			cfg := transport.TraceConfig{TracerProvider: tp, MeterProvider: mp}
			rt := transport.NewCallTrace(transport.NewAttemptTrace(
				transporttest.NewResponder(transporttest.Respond(200, "")), cfg), cfg)
			req, err := http.NewRequest(http.MethodGet, c.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			spans := rec.Ended()
			if len(spans) == 0 {
				t.Fatal("no span")
			}
			for _, s := range spans {
				for _, a := range s.Attributes() {
					if a.Key == "server.address" && a.Value.AsString() != c.want {
						t.Errorf("span %q: server.address %q, want %q", s.Name(), a.Value.AsString(), c.want)
					}
				}
			}
			for _, s := range metricSets(t, reader, transport.MetricRequestDuration) {
				if v, _ := s.Value("server.address"); v.AsString() != c.want {
					t.Errorf("%s: server.address %q, want %q", transport.MetricRequestDuration, v.AsString(), c.want)
				}
			}
			if got := transport.HostKey(req.URL); got != c.want && got != c.want+":8443" {
				t.Errorf("HostKey = %q, want %q (the test's premise)", got, c.want)
			}
		})
	}
}
