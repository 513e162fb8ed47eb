package transport_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// panickyHandler is a slog.Handler with a bug: its Enabled or its Handle
// panics, with a value quoting what it was given.
type panickyHandler struct {
	inEnabled bool
}

func (h panickyHandler) Enabled(context.Context, slog.Level) bool {
	if h.inEnabled {
		panic("handler bug in Enabled: s3cret")
	}
	return true
}

func (h panickyHandler) Handle(_ context.Context, r slog.Record) error {
	panic("handler bug in Handle: " + r.Message + " s3cret")
}

func (h panickyHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h panickyHandler) WithGroup(string) slog.Handler      { return h }

// TestAuditHandlerPanicKeepsResponse: a logger's handler that panicked (a
// bug in it) while the audit layer wrote a call's record unwound through
// RoundTrip with the response in hand, so the caller never got it and its
// body, and the connection under it, leaked; one that panicked in
// Enabled, before the call, left the request body unclosed. The audit log
// is a side channel: the panic is recovered and reported as a record not
// written (to AuditConfig.OnError, or otel.Handle without one), naming the
// panic value's type only, and the call goes on unchanged: the response is
// returned intact, and every body is closed.
func TestAuditHandlerPanicKeepsResponse(t *testing.T) {
	for _, inEnabled := range []bool{false, true} {
		name := "Handle"
		if inEnabled {
			name = "Enabled"
		}
		check := func(t *testing.T, rt http.RoundTripper, next *transporttest.Responder, errs func() []error) {
			t.Helper()
			reqBody := transporttest.NewTrackedBody([]byte("payload"))
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, "https://api.example.test/x?key=s3cret", reqBody)
			var (
				resp     *http.Response
				err      error
				panicked any
			)
			func() {
				defer func() { panicked = recover() }()
				resp, err = rt.RoundTrip(req)
			}()
			if panicked != nil {
				t.Fatalf("RoundTrip panicked with the handler's panic (%v): the response is lost, its body unclosed (%v)", panicked, next.Unclosed())
			}
			if err != nil {
				t.Fatalf("the call failed over the audit handler's panic: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "ok" {
				t.Fatalf("got %d %q, want 200 \"ok\"", resp.StatusCode, body)
			}
			if !reqBody.Closed() {
				t.Error("the request body was not closed")
			}
			if err := next.Unclosed(); err != nil {
				t.Error(err)
			}
			got := errs()
			if len(got) != 1 {
				t.Fatalf("%d errors reported for the record lost to the panic, want 1: %v", len(got), got)
			}
			msg := got[0].Error()
			if !strings.HasPrefix(msg, "transport: audit") || !strings.Contains(msg, "panic") || !strings.Contains(msg, "string") {
				t.Errorf("reported error %q: want it to name the audit log, the panic and the panic value's type", msg)
			}
			if strings.Contains(msg, "s3cret") {
				t.Errorf("reported error %q quotes the panic value", msg)
			}
		}
		t.Run(name+"/OnError", func(t *testing.T) {
			var mu sync.Mutex
			var errs []error
			next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
			rt := auditLayer(t, next, transport.AuditConfig{
				Logger: slog.New(panickyHandler{inEnabled: inEnabled}),
				OnError: func(err error) {
					mu.Lock()
					defer mu.Unlock()
					errs = append(errs, err)
				},
			})
			check(t, rt, next, func() []error { mu.Lock(); defer mu.Unlock(); return errs })
		})
		t.Run(name+"/otel.Handle", func(t *testing.T) {
			var mu sync.Mutex
			var errs []error
			prev := otel.GetErrorHandler()
			otel.SetErrorHandler(errorHandlerFunc(func(err error) {
				mu.Lock()
				defer mu.Unlock()
				errs = append(errs, err)
			}))
			defer otel.SetErrorHandler(prev)
			next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
			rt := auditLayer(t, next, transport.AuditConfig{Logger: slog.New(panickyHandler{inEnabled: inEnabled})})
			check(t, rt, next, func() []error { mu.Lock(); defer mu.Unlock(); return errs })
		})
	}
}

// TestAuditHandlerPanicBelowPanicGoesOn: a call whose next transport
// panicked, recorded by a handler that panics too: the handler's panic is
// reported, and the transport's panic, not the handler's, reaches the
// caller.
func TestAuditHandlerPanicBelowPanicGoesOn(t *testing.T) {
	var errs []error
	rt := auditLayer(t, transporttest.RoundTripperFunc(func(*http.Request) (*http.Response, error) {
		panic("transport bug")
	}), transport.AuditConfig{
		Logger:  slog.New(panickyHandler{}),
		OnError: func(err error) { errs = append(errs, err) },
	})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
	var panicked any
	func() {
		defer func() { panicked = recover() }()
		rt.RoundTrip(req)
	}()
	if panicked != "transport bug" {
		t.Fatalf("panic %v reached the caller, want the transport's", panicked)
	}
	if len(errs) != 1 || !errors.As(errs[0], new(interface{ Unwrap() error })) {
		t.Fatalf("reported errors %v, want the handler's panic", errs)
	}
}
