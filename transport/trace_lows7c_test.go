package transport_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// fieldLines returns the values sent under every spelling of name.
func fieldLines(h http.Header, name string) []string {
	var lines []string
	for k, vs := range h {
		if strings.EqualFold(k, name) {
			lines = append(lines, vs...)
		}
	}
	return lines
}

// A caller's tracestate belongs to the caller's traceparent, which the
// attempt trace replaces: when the propagated span context has no
// tracestate (W3C TraceContext then sets none), the caller's must not be
// sent beside our traceparent (W3C Trace Context §3.3: tracestate
// qualifies the traceparent it travels with). The caller's request keeps
// its own.
func TestStaleTracestateDropped(t *testing.T) {
	for _, name := range []string{"Tracestate", "tracestate", "TRACESTATE"} {
		for _, shape := range []string{"stack", "bare"} {
			t.Run(name+"/"+shape, func(t *testing.T) {
				r := newOtelRig(t, nil)
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
				req.Header[name] = []string{"caller=stale"}
				resp, err := rt.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if tp := fieldLines(got, "traceparent"); len(tp) != 1 || strings.Contains(tp[0], "b7ad6b7169203331") {
					t.Fatalf("traceparent sent %q, want only the attempt's", tp)
				}
				if ts := fieldLines(got, "tracestate"); len(ts) != 0 {
					t.Errorf("tracestate sent %q beside our traceparent, want none", ts)
				}
				if vs := req.Header[name]; len(vs) != 1 || vs[0] != "caller=stale" {
					t.Errorf("caller's request changed: %q", vs)
				}
			})
		}
	}
}

// A tracestate the propagator sets (the span context's) is sent, once,
// in place of the caller's.
func TestPropagatedTracestateReplacesCallers(t *testing.T) {
	r := newOtelRig(t, nil)
	var got http.Header
	base := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		got = req.Header.Clone()
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
	})
	ts, err := trace.ParseTraceState("ours=1")
	if err != nil {
		t.Fatal(err)
	}
	parent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{1},
		SpanID:     trace.SpanID{2},
		TraceFlags: trace.FlagsSampled,
		TraceState: ts,
		Remote:     true,
	})
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), parent)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.test/v1", nil)
	req.Header["tracestate"] = []string{"caller=stale"}
	resp, err := r.stack(base).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if lines := fieldLines(got, "tracestate"); len(lines) != 1 || lines[0] != "ours=1" {
		t.Errorf("tracestate sent %q, want [ours=1]", lines)
	}
}
