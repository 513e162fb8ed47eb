package transport_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// countRecords is a slog.Handler counting the records it handles.
type countRecords struct {
	slog.Handler
	n *atomic.Int32
}

func (h *countRecords) Handle(ctx context.Context, r slog.Record) error {
	h.n.Add(1)
	return h.Handler.Handle(ctx, r)
}

// panicFromRead returns a clock that reads time.Now for its first n-1
// reads and panics with "clock bug <read>" on every read from the nth on.
func panicFromRead(n int32) func() time.Time {
	var reads atomic.Int32
	return func() time.Time {
		if r := reads.Add(1); r >= n {
			panic(fmt.Sprintf("clock bug %d", r))
		}
		return time.Now()
	}
}

// TestCallerClockPanicKeepsFirstPanic: the audit and inventory layers
// record a call whose next panicked, and read the caller's clock
// (AuditConfig.Now, InventoryConfig.Now) again to do it: a clock that
// panicked there too replaced the panic on its way to the caller (next's,
// or the same clock's first panic in a layer below) with its own, so the
// caller saw the second panic, not the bug that started it. The caller now
// sees the first panic, and the call is still recorded as failed.
func TestCallerClockPanicKeepsFirstPanic(t *testing.T) {
	newAudit := func(t *testing.T, next http.RoundTripper, now func() time.Time, records *atomic.Int32) http.RoundTripper {
		h := &countRecords{Handler: slog.NewTextHandler(io.Discard, nil), n: records}
		rt, err := transport.NewAudit(next, transport.AuditConfig{Logger: slog.New(h), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	newInventory := func(t *testing.T, next http.RoundTripper, now func() time.Time, records *atomic.Int32) http.RoundTripper {
		inv, err := transport.NewInventory(transport.InventoryConfig{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		rt, err := transport.NewInventoryLayer(next, inv)
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	panicking := http.RoundTripper(roundTripFunc(func(*http.Request) (*http.Response, error) { panic("next bug") }))
	for _, tc := range []struct {
		name  string
		build func(t *testing.T, records *atomic.Int32) http.RoundTripper
		want  any
	}{
		// next panics, then the clock panics on the read that records it.
		{"NewAudit/next panics", func(t *testing.T, records *atomic.Int32) http.RoundTripper {
			return newAudit(t, panicking, panicFromRead(2), records)
		}, "next bug"},
		{"NewInventoryLayer/next panics", func(t *testing.T, records *atomic.Int32) http.RoundTripper {
			return newInventory(t, panicking, panicFromRead(2), records)
		}, "next bug"},
		// One clock for both layers: the inventory's read after the
		// response panics first (read 3), the audit's record reads again.
		{"NewAudit over NewInventoryLayer", func(t *testing.T, records *atomic.Int32) http.RoundTripper {
			now := panicFromRead(3)
			var ignored atomic.Int32
			ok := roundTripFunc(func(*http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}}, nil
			})
			return newAudit(t, newInventory(t, ok, now, &ignored), now, records)
		}, "clock bug 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var records atomic.Int32
			rt := tc.build(t, &records)
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
			var panicked any
			func() {
				defer func() { panicked = recover() }()
				resp, err := rt.RoundTrip(req)
				if err == nil {
					resp.Body.Close()
				}
			}()
			if panicked != tc.want {
				t.Fatalf("panic %v reached the caller, want %v", panicked, tc.want)
			}
			if strings.HasPrefix(tc.name, "NewAudit") && records.Load() != 1 {
				t.Errorf("%d audit records, want 1", records.Load())
			}
		})
	}
}
