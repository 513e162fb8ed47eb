package transport_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// resp.Request is the attempt's request: under a total timeout its
// context is the call's deadline context, released when the body is
// closed (as net/http's Client.Timeout does). A follow-up call made with
// resp.Request.Context() then fails with context.Canceled, which the docs
// say; the caller's own context is the one to use.
func TestFollowUpWithResponseRequestContextIsCanceled(t *testing.T) {
	next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
	rt, err := transport.NewTotalTimeout(next, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://api.example.test/x", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Request.Context().Err() != nil {
		t.Fatal("context ended before the body was closed")
	}
	resp.Body.Close()
	if err := resp.Request.Context().Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("resp.Request.Context().Err() = %v after Close, want context.Canceled (docs/resilience.md)", err)
	}
	if t.Context().Err() != nil {
		t.Fatal("the caller's context ended")
	}
}
