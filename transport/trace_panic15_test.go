package transport_test

import (
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/codes"

	"github.com/securecall/securecall/transport"
)

// A panic below the trace layers (a caller's base transport or hook with a
// bug), recovered further up as net/http's server does per request, ends
// the spans the call started, with an error, and records the call: a span
// never ended is never exported, so the call vanished from the trace, its
// attempt spans (already ended) left without their parent.
func TestTracePanicEndsSpans(t *testing.T) {
	for _, twoLevel := range []bool{false, true} {
		r := newOtelRig(t, nil)
		want := 1 // the call span, which stands for the first send
		if twoLevel {
			r.twoLevel()
			want = 2
		}
		rt := r.stack(roundTripFunc(func(*http.Request) (*http.Response, error) {
			panic("next transport bug")
		}))
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("the panic was swallowed")
				}
			}()
			req, err := http.NewRequest(http.MethodGet, "https://api.example/x", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, _ := rt.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
		}()
		spans := r.ended()
		if len(spans) != want {
			t.Fatalf("twoLevel %v: %d spans ended, want %d", twoLevel, len(spans), want)
		}
		for _, s := range spans {
			if s.Status.Code != codes.Error {
				t.Errorf("twoLevel %v: span %q status %v, want Error", twoLevel, s.Name, s.Status)
			}
			wantAttr(t, s, "error.type", transport.ErrorTypeOther)
		}
		rm := r.metrics(t)
		h := findHistogram(t, rm, transport.MetricRequestDuration)
		if len(h.DataPoints) != 1 || h.DataPoints[0].Count != 1 {
			t.Fatalf("twoLevel %v: duration points %+v, want one measurement", twoLevel, h.DataPoints)
		}
		wantSet(t, h.DataPoints[0].Attributes, map[string]any{
			"http.request.method": "GET", "server.address": "api.example", "server.port": int64(443),
			"error.type": transport.ErrorTypeOther,
		})
		if got := attemptOutcomes(t, r); got[transport.ErrorTypeOther] != 1 || len(got) != 1 {
			t.Errorf("twoLevel %v: attempt outcomes %v, want one %s", twoLevel, got, transport.ErrorTypeOther)
		}
	}
}
