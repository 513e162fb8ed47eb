package transport_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// ctxHonouringHandler writes records with the context it is given, as a
// handler that exports over the network does (OTel's slog bridge over a
// SimpleProcessor hands the context to the exporter's Export, whose
// request ends with it; a queueing handler selects on ctx.Done()): it
// fails with the context's error once that context has ended.
type ctxHonouringHandler struct {
	slog.Handler
	seen []any // the value of ctxMarker in each context Handle got
}

type ctxMarker struct{}

func (h *ctxHonouringHandler) Handle(ctx context.Context, r slog.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h.seen = append(h.seen, ctx.Value(ctxMarker{}))
	return h.Handler.Handle(ctx, r)
}

// TestAuditRecordsCallWhoseContextEnded: the record of a call the caller
// canceled, or whose deadline passed, was handed to the handler with the
// call's own context, ended by then: a handler that honours its context
// (an exporting one) dropped exactly the records of canceled and timed-out
// calls. The handler gets the call's context without its cancellation:
// its values (the trace a handler correlates with) are kept.
func TestAuditRecordsCallWhoseContextEnded(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		errType string
	}{
		{"canceled", func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.WithValue(context.Background(), ctxMarker{}, "call"))
		}, "canceled"},
		{"deadline", func() (context.Context, context.CancelFunc) {
			// Past already: the call fails at once (a client's stack
			// makes no attempt), and is recorded all the same.
			return context.WithDeadline(context.WithValue(context.Background(), ctxMarker{}, "call"), time.Now().Add(-time.Second))
		}, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log auditLog
			h := &ctxHonouringHandler{Handler: slog.NewJSONHandler(&log, nil)}
			ctx, cancel := tc.ctx()
			defer cancel()
			next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				cancel() // the caller gives up while the server is slow
				return nil, req.Context().Err()
			})
			rt := auditLayer(t, next, transport.AuditConfig{Logger: slog.New(h)})
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.test/x", nil)
			if _, err := rt.RoundTrip(req); err == nil {
				t.Fatal("the call succeeded")
			}
			recs := log.records(t)
			if len(recs) != 1 {
				t.Fatalf("%d audit records of a %s call, want 1", len(recs), tc.name)
			}
			if got := recs[0]["error.type"]; got != tc.errType {
				t.Errorf("error.type = %v, want %s", got, tc.errType)
			}
			if len(h.seen) != 1 || h.seen[0] != "call" {
				t.Errorf("the handler's context values = %v, want the call's (%q)", h.seen, "call")
			}
		})
	}
}
