package transport_test

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"

	"github.com/securecall/securecall/internal/redact"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// With the default (client) call span, a call answered at its first send
// costs one span: the call span reports the send (its traceparent goes to
// the server, it carries the send's protocol and allowlisted headers). A
// resend gets a child span of its own, and the call span keeps the call's
// outcome, not the first send's.
func TestTraceFirstSendOnCallSpan(t *testing.T) {
	policy := &redact.Policy{Headers: []string{"X-Request-Id"}}

	t.Run("one send", func(t *testing.T) {
		rig := newOtelRig(t, policy)
		next := transporttest.NewResponder(transporttest.Respond(200, "ok", "X-Request-Id", "resp-id"))
		req := trReq(t, http.MethodGet)
		req.Header.Set("X-Request-Id", "req-id")
		resp, err := rig.stack(next).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(rig.ended()); n != 0 {
			t.Fatalf("%d spans ended before the body was closed", n)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		spans := rig.ended()
		if len(spans) != 1 {
			t.Fatalf("%d spans, want 1", len(spans))
		}
		s := spans[0]
		if s.SpanKind != trace.SpanKindClient || s.Name != "GET" {
			t.Errorf("span %q kind %v", s.Name, s.SpanKind)
		}
		wantAttr(t, s, "http.response.status_code", 200)
		wantAttr(t, s, "network.protocol.version", "1.1")
		wantAttr(t, s, "http.request.header.x-request-id", []string{"req-id"})
		wantAttr(t, s, "http.response.header.x-request-id", []string{"resp-id"})
		wantAttr(t, s, transport.AttemptCountKey, 1)
		noAttr(t, s, "http.request.resend_count")
		tp := next.Requests()[0].Header.Get("traceparent")
		if want := "00-" + s.SpanContext.TraceID().String() + "-" + s.SpanContext.SpanID().String() + "-01"; tp != want {
			t.Errorf("server got traceparent %q, want the call span's %q", tp, want)
		}
		counts := attemptOutcomes(t, rig)
		if counts["ok"] != 1 || len(counts) != 1 {
			t.Errorf("attempt outcomes %v", counts)
		}
	})

	t.Run("resend", func(t *testing.T) {
		rig := newOtelRig(t, policy)
		next := transporttest.NewResponder(transporttest.Respond(503, "busy"), transporttest.Respond(200, "ok"))
		retry := sendTwice(transport.NewAttemptTrace(next, rig.cfg))
		resp, err := transport.NewCallTrace(retry, rig.cfg).RoundTrip(trReq(t, http.MethodGet))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		call, children := splitSpans(t, rig.ended())
		if len(children) != 1 {
			t.Fatalf("%d child spans, want 1 (the resend)", len(children))
		}
		wantAttr(t, call, "http.response.status_code", 200)
		wantAttr(t, call, transport.AttemptCountKey, 2)
		noAttr(t, call, "error.type") // the first send's 503 is not the call's outcome
		if call.Status.Code != codes.Unset {
			t.Errorf("call status %v, want unset", call.Status)
		}
		wantAttr(t, children[0], "http.request.resend_count", 1)
		wantAttr(t, children[0], "http.response.status_code", 200)
		recs := next.Requests()
		if tp := recs[0].Header.Get("traceparent"); tp == "" || tp[36:52] != call.SpanContext.SpanID().String() {
			t.Errorf("first send's traceparent %q does not name the call span", tp)
		}
		if tp := recs[1].Header.Get("traceparent"); tp == "" || tp[36:52] != children[0].SpanContext.SpanID().String() {
			t.Errorf("resend's traceparent %q does not name its own span", tp)
		}
		counts := attemptOutcomes(t, rig)
		if counts["503"] != 1 || counts["ok"] != 1 {
			t.Errorf("attempt outcomes %v", counts)
		}
	})

	t.Run("failed send", func(t *testing.T) {
		rig := newOtelRig(t, policy)
		next := transporttest.NewResponder(transporttest.Fail(errors.New("connection reset")))
		_, err := rig.stack(next).RoundTrip(trReq(t, http.MethodGet))
		if err == nil {
			t.Fatal("no error")
		}
		spans := rig.ended()
		if len(spans) != 1 {
			t.Fatalf("%d spans, want 1", len(spans))
		}
		if spans[0].Status.Code != codes.Error {
			t.Errorf("status %v", spans[0].Status)
		}
		if _, ok := attr(spans[0], "error.type"); !ok {
			t.Error("no error.type")
		}
	})
}

func attemptOutcomes(t *testing.T, rig *otelRig) map[string]int64 {
	t.Helper()
	counts := map[string]int64{}
	sum := findMetric(t, rig.metrics(t), transport.MetricAttempts)
	for _, p := range sum.Data.(metricdata.Sum[int64]).DataPoints {
		o, _ := p.Attributes.Value(transport.OutcomeKey)
		counts[o.AsString()] += p.Value
	}
	return counts
}

// The auth layer's replay after a 401, inside the usual stack (call trace,
// total timeout, attempt, attempt timeout, auth, attempt trace): the first
// send reports on the call span, the replay gets its own child span of the
// call span (not of anything the first send left in the request's
// context), carries its own traceparent, and keeps the attempt's deadline.
func TestTraceAuthReplayInStack(t *testing.T) {
	t.Run("first send on the call span", func(t *testing.T) { testTraceAuthReplayInStack(t, false) })
	t.Run("two levels", func(t *testing.T) { testTraceAuthReplayInStack(t, true) })
}

func testTraceAuthReplayInStack(t *testing.T, twoLevel bool) {
	rig := newOtelRig(t, nil)
	if twoLevel {
		rig.twoLevel() // the first send's span is put in the request's context, in place
	}
	src := &seqSource{}
	next := transporttest.NewResponder(
		transporttest.Respond(401, "token rejected", "WWW-Authenticate", `Bearer error="invalid_token"`),
		transporttest.Respond(200, "ok"),
	)
	var deadlines []time.Time
	base := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		dl, _ := r.Context().Deadline()
		deadlines = append(deadlines, dl)
		return next.RoundTrip(r)
	})
	auth := newAuth(t, transport.NewAttemptTrace(base, rig.cfg), authCache(t, src))
	at, _ := transport.NewAttemptTimeout(auth, 2*time.Second)
	tt, _ := transport.NewTotalTimeout(transport.NewAttemptScope(at), 30*time.Second)
	stack := transport.NewCallTrace(tt, rig.cfg)

	req := authReq(t, "POST", "https://api.example.test/v1/items", `{"n":1}`)
	callerHeader := req.Header.Clone()
	start := time.Now()
	resp, err := stack.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	call, children := splitSpans(t, rig.ended())
	want := map[bool]int{false: 1, true: 2}[twoLevel]
	if len(children) != want {
		t.Fatalf("%d child spans, want %d", len(children), want)
	}
	for _, c := range children {
		if c.Parent.SpanID() != call.SpanContext.SpanID() {
			t.Fatal("a send's span is not a child of the call span (the replay inherited the first send's context)")
		}
	}
	wantAttr(t, call, transport.AttemptCountKey, 2)
	wantAttr(t, call, "http.response.status_code", 200)
	recs := next.Requests()
	first, replay := call, children[len(children)-1]
	if twoLevel {
		first = children[0]
		if first.EndTime.After(replay.StartTime) {
			first, replay = replay, first
		}
	}
	if tp := recs[0].Header.Get("traceparent"); tp == "" || tp[36:52] != first.SpanContext.SpanID().String() {
		t.Errorf("first send's traceparent %q does not name its span", tp)
	}
	if tp := recs[1].Header.Get("traceparent"); tp == "" || tp[36:52] != replay.SpanContext.SpanID().String() {
		t.Errorf("replay's traceparent %q does not name its own span", tp)
	}
	// Both sends under the attempt's 2 s deadline (not the call's 30 s).
	for i, dl := range deadlines {
		if dl.IsZero() || dl.Sub(start) > 3*time.Second {
			t.Errorf("send %d: deadline %v after start, want the attempt's", i, dl.Sub(start))
		}
	}
	if len(req.Header) != len(callerHeader) || req.Header.Get("traceparent") != "" || req.Header.Get("Authorization") != "" {
		t.Errorf("the caller's request was changed: %v", req.Header)
	}
}
