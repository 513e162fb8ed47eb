package transport_test

import (
	"errors"
	"io"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// countAttr returns how many times key appears on s.
func countAttr(s tracetest.SpanStub, key string) int {
	n := 0
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			n++
		}
	}
	return n
}

// Without allowlisted headers, the first send leaves its one attribute,
// network.protocol.version, to the call trace, which sets it with its own
// (one SetAttributes on the call span): it is there exactly once, and it
// stays there when a later send of the call fails.
func TestTraceFirstSendProtocolOnCallSpan(t *testing.T) {
	t.Run("one send", func(t *testing.T) {
		rig := newOtelRig(t, nil)
		next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
		resp, err := rig.stack(next).RoundTrip(trReq(t, http.MethodGet))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		spans := rig.ended()
		if len(spans) != 1 {
			t.Fatalf("%d spans, want 1", len(spans))
		}
		wantAttr(t, spans[0], "network.protocol.version", "1.1")
		if n := countAttr(spans[0], "network.protocol.version"); n != 1 {
			t.Errorf("network.protocol.version set %d times", n)
		}
	})

	t.Run("first send answered, resend failed", func(t *testing.T) {
		rig := newOtelRig(t, nil)
		next := transporttest.NewResponder(transporttest.Respond(503, "busy"), transporttest.Fail(errors.New("connection reset")))
		retry := sendTwice(transport.NewAttemptTrace(next, rig.cfg))
		if _, err := transport.NewCallTrace(retry, rig.cfg).RoundTrip(trReq(t, http.MethodGet)); err == nil {
			t.Fatal("no error")
		}
		call, children := splitSpans(t, rig.ended())
		if len(children) != 1 {
			t.Fatalf("%d child spans, want 1 (the resend)", len(children))
		}
		if call.Status.Code != codes.Error {
			t.Errorf("call status %v", call.Status)
		}
		wantAttr(t, call, "network.protocol.version", "1.1") // the first send's
		noAttr(t, children[0], "network.protocol.version")   // the resend got no response
	})
}

// sendTwice is a minimal retry loop: attempt 0, its body read and closed,
// then attempt 1, whatever the first answer was.
func sendTwice(attempt http.RoundTripper) http.RoundTripper {
	return transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := attempt.RoundTrip(transport.BeginAttempt(req, 0))
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return attempt.RoundTrip(transport.BeginAttempt(req, 1))
	})
}
