package transport_test

import (
	"net/http"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A caller's second Close of a response body (a deferred Close after an
// explicit one) reached the body under the total and attempt timeouts',
// the throttle's and the trace layers' (recording a span) wrappers as a second Close: io.Closer
// leaves it undefined, and that body may be a caller's own base
// transport's. Each wrapper closes the body under it once.
func TestLayerBodyClosedTwiceClosesNextOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(http.RoundTripper) (http.RoundTripper, error)
	}{
		{"total-timeout", func(n http.RoundTripper) (http.RoundTripper, error) { return transport.NewTotalTimeout(n, time.Hour) }},
		{"attempt-timeout", func(n http.RoundTripper) (http.RoundTripper, error) { return transport.NewAttemptTimeout(n, time.Hour) }},
		{"throttle", func(n http.RoundTripper) (http.RoundTripper, error) {
			return transport.NewThrottle(n, transport.ThrottleConfig{Limit: transport.HostLimit{MaxConcurrent: 1}})
		}},
		{"call-trace", func(n http.RoundTripper) (http.RoundTripper, error) {
			return transport.NewCallTrace(n, transport.TraceConfig{TracerProvider: sdktrace.NewTracerProvider()}), nil
		}},
		{"attempt-trace", func(n http.RoundTripper) (http.RoundTripper, error) {
			return transport.NewAttemptTrace(n, transport.TraceConfig{TracerProvider: sdktrace.NewTracerProvider()}), nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body *transporttest.TrackedBody
			next := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
				body = transporttest.NewTrackedBody([]byte("hello"))
				return &http.Response{StatusCode: 200, Header: http.Header{}, ContentLength: 5, Body: body, Request: r}, nil
			})
			rt, err := tc.wrap(next)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://api.example.test/v1", nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			if err := resp.Body.Close(); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if n := body.CloseCount(); n != 1 {
				t.Errorf("next's body closed %d times, want 1", n)
			}
		})
	}
}
