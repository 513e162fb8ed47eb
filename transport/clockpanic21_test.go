package transport_test

import (
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// panicOnRead returns a clock that panics with "clock bug" on its read
// number n (1-based) and reads time.Now otherwise.
func panicOnRead(n int32) func() time.Time {
	var reads atomic.Int32
	return func() time.Time {
		if reads.Add(1) == n {
			panic("clock bug")
		}
		return time.Now()
	}
}

// TestCallerClockPanicClosesBodies: an AuditConfig.Now or an
// InventoryConfig.Now of the caller's that panicked (a bug in it) left a
// body unclosed, which RoundTrip must close on every path: read before
// the request is handed on, the request's (a caller recovering the panic,
// as net/http's server does a handler's, with an io.Pipe body had its
// writer blocked for ever); read once the response came back, the
// response's (its connection leaked, and a throttle's slot below stayed
// taken). The body is closed, the panic goes on unchanged, and, before
// the send, nothing is sent.
func TestCallerClockPanicClosesBodies(t *testing.T) {
	layers := []struct {
		name  string
		layer func(t *testing.T, next http.RoundTripper, now func() time.Time) http.RoundTripper
	}{
		{"NewAudit", func(t *testing.T, next http.RoundTripper, now func() time.Time) http.RoundTripper {
			rt, err := transport.NewAudit(next, transport.AuditConfig{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: now})
			if err != nil {
				t.Fatal(err)
			}
			return rt
		}},
		{"NewInventoryLayer", func(t *testing.T, next http.RoundTripper, now func() time.Time) http.RoundTripper {
			inv, err := transport.NewInventory(transport.InventoryConfig{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			rt, err := transport.NewInventoryLayer(next, inv)
			if err != nil {
				t.Fatal(err)
			}
			return rt
		}},
	}
	for _, l := range layers {
		t.Run(l.name+"/before the send", func(t *testing.T) {
			next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
			checkPanicBeforeSend(t, l.layer(t, next, panicOnRead(1)), next, "clock bug")
		})
		t.Run(l.name+"/after the response", func(t *testing.T) {
			next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
			rt := l.layer(t, next, panicOnRead(2))
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
			var panicked any
			func() {
				defer func() { panicked = recover() }()
				resp, err := rt.RoundTrip(req)
				if err == nil {
					resp.Body.Close()
				}
			}()
			if panicked != "clock bug" {
				t.Fatalf("panic %v reached the caller, want the clock's", panicked)
			}
			if next.Calls() != 1 {
				t.Fatalf("%d requests sent, want 1", next.Calls())
			}
			if err := next.Unclosed(); err != nil {
				t.Error(err)
			}
		})
	}
}
