package transport_test

import (
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/propagation"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A caller's tracestate stays when the injection sets no traceparent (a
// propagator of baggage only): it still qualifies the caller's
// traceparent, which goes out unchanged. Through the attempt's own
// request (stack), whose injection is watched in the attempt, and
// another (bare).
func TestTracestateKeptWithoutOurTraceparent(t *testing.T) {
	for _, name := range []string{"Tracestate", "tracestate"} {
		for _, shape := range []string{"stack", "bare"} {
			t.Run(name+"/"+shape, func(t *testing.T) {
				r := newOtelRig(t, nil)
				r.cfg.Propagator = propagation.Baggage{}
				var got http.Header
				base := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
					got = req.Header.Clone()
					return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
				})
				rt := r.stack(base)
				if shape == "bare" {
					rt = transport.NewAttemptTrace(base, r.cfg)
				}
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://api.example.test/v1", nil)
				req.Header["Traceparent"] = []string{"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
				req.Header[name] = []string{"caller=kept"}
				resp, err := rt.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if ts := fieldLines(got, "tracestate"); len(ts) != 1 || ts[0] != "caller=kept" {
					t.Errorf("tracestate sent %q, want the caller's", ts)
				}
			})
		}
	}
}
