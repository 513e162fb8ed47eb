package client_test

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"

	"github.com/securecall/securecall/client"
)

type otelErrorHandler func(error)

func (f otelErrorHandler) Handle(err error) { f(err) }

// TestAuditLogSinkErrorReported: with WithAuditLog, a record the logger's
// handler fails to write (a JSON handler over a file whose writes fail)
// was dropped without a trace; it is reported to OTel's error handler,
// once per lost record, the refused call's record (after Close) too, and
// the call goes on.
func TestAuditLogSinkErrorReported(t *testing.T) {
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	f, err := os.Create(filepath.Join(t.TempDir(), "audit.json"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	var mu sync.Mutex
	var errs []error
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otelErrorHandler(func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
	}))
	defer otel.SetErrorHandler(prev)

	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), client.WithAuditLog(slog.New(slog.NewJSONHandler(f, nil))))...)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("the call failed over the audit sink's error: %v", err)
	}
	resp.Body.Close()
	c.Close()
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
	if _, err := c.Do(req); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	n := 0
	for _, err := range errs {
		if errors.Is(err, os.ErrClosed) && strings.Contains(err.Error(), "audit") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d audit write errors reported for 2 lost records, want 2: %v", n, errs)
	}
}
