package transport_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// closedFile returns an *os.File already closed: every write fails, as
// one to a full disk or a rotated-away log would.
func closedFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "audit.json"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	return f
}

// errorHandlerFunc is an otel.ErrorHandler.
type errorHandlerFunc func(error)

func (f errorHandlerFunc) Handle(err error) { f(err) }

// TestAuditSinkErrorReported: a record the logger's handler fails to
// write (a JSON handler over a file whose writes fail) was dropped
// without a trace, since slog.Logger discards the error of Handle: an
// audit trail that stops being written must be noticed. The error goes to
// AuditConfig.OnError, or to OTel's error handler (otel.Handle) without
// one, once per lost record, and the call itself goes on unchanged.
func TestAuditSinkErrorReported(t *testing.T) {
	next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
	call := func(t *testing.T, rt http.RoundTripper) {
		t.Helper()
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://api.example.test/x?key=s3cret", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("the call failed over the audit sink's error: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	check := func(t *testing.T, errs []error) {
		t.Helper()
		if len(errs) != 2 {
			t.Fatalf("%d errors reported for 2 lost records, want 2: %v", len(errs), errs)
		}
		for _, err := range errs {
			if !errors.Is(err, os.ErrClosed) {
				t.Errorf("reported error %v does not wrap the handler's (os.ErrClosed)", err)
			}
			if !strings.HasPrefix(err.Error(), "transport: audit") || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("reported error %q: want it to name the audit log, never the record's URL", err)
			}
		}
	}

	t.Run("OnError", func(t *testing.T) {
		var mu sync.Mutex
		var errs []error
		rt := auditLayer(t, next, transport.AuditConfig{
			Logger: slog.New(slog.NewJSONHandler(closedFile(t), nil)),
			OnError: func(err error) {
				mu.Lock()
				defer mu.Unlock()
				errs = append(errs, err)
			},
		})
		call(t, rt)
		call(t, rt)
		check(t, errs)
	})

	t.Run("otel.Handle", func(t *testing.T) {
		var mu sync.Mutex
		var errs []error
		prev := otel.GetErrorHandler()
		otel.SetErrorHandler(errorHandlerFunc(func(err error) {
			mu.Lock()
			defer mu.Unlock()
			errs = append(errs, err)
		}))
		defer otel.SetErrorHandler(prev)
		rt := auditLayer(t, next, transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(closedFile(t), nil))})
		call(t, rt)
		call(t, rt)
		check(t, errs)
	})
}
