package client_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// countHandler counts the slog records it is given.
type countHandler struct{ n *atomic.Int32 }

func (h countHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (h countHandler) Handle(context.Context, slog.Record) error { h.n.Add(1); return nil }
func (h countHandler) WithAttrs([]slog.Attr) slog.Handler        { return h }
func (h countHandler) WithGroup(string) slog.Handler             { return h }

// hostileClient builds a client with one WithCallLayer layer answering with
// answer, an inventory and an audit log counting its records.
func hostileClient(t *testing.T, origin string, answer func(next http.RoundTripper, req *http.Request) (*http.Response, error)) (*client.Client, *transport.Inventory, *atomic.Int32) {
	t.Helper()
	layer := func(next http.RoundTripper) (http.RoundTripper, error) {
		return transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) { return answer(next, req) }), nil
	}
	inv, err := transport.NewInventory(transport.InventoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inv.Close() })
	var audits atomic.Int32
	c, err := client.New(opts(loopback(), client.WithOrigins(origin), client.WithCallLayer(layer),
		client.WithInventory(inv), client.WithAuditLog(slog.New(countHandler{&audits})))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, inv, &audits
}

func invCalls(inv *transport.Inventory) uint64 {
	var n uint64
	for _, e := range inv.Snapshot().Entries {
		n += e.Calls
	}
	return n
}

// bodyCount counts the Close calls of a request body.
type bodyCount struct {
	io.Reader
	closes atomic.Int32
}

func (b *bodyCount) Close() error { b.closes.Add(1); return nil }

// Hostile call layers: each call is recorded once by the inventory and the
// audit log, the caller's request body is closed, and the caller's request
// is left as it was.
func TestCallLayerHostileRecordsOnce(t *testing.T) {
	var hits atomic.Int32
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if hits.Add(1)%3 == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	drain := func(resp *http.Response) {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	for _, tc := range []struct {
		name   string
		answer func(next http.RoundTripper, req *http.Request) (*http.Response, error)
	}{
		{"neither", func(http.RoundTripper, *http.Request) (*http.Response, error) { return nil, nil }},
		{"both", func(next http.RoundTripper, req *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(req)
			if err != nil {
				return nil, err
			}
			return resp, io.ErrUnexpectedEOF
		}},
		{"nil body", func(next http.RoundTripper, req *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(req)
			if err != nil {
				return nil, err
			}
			drain(resp)
			resp.Body = nil
			return resp, nil
		}},
		{"twice sequential", func(next http.RoundTripper, req *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(req)
			if err == nil {
				drain(resp)
			}
			r2 := req.Clone(req.Context())
			if req.GetBody != nil {
				r2.Body, _ = req.GetBody()
			}
			return next.RoundTrip(r2)
		}},
		{"twice concurrent", func(next http.RoundTripper, req *http.Request) (*http.Response, error) {
			var wg sync.WaitGroup
			for range 2 {
				wg.Go(func() {
					r2 := req.Clone(req.Context())
					if req.GetBody != nil {
						r2.Body, _ = req.GetBody()
					}
					if resp, err := next.RoundTrip(r2); err == nil {
						drain(resp)
					}
				})
			}
			wg.Wait()
			return next.RoundTrip(req)
		}},
		{"modify after next", func(next http.RoundTripper, req *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(req)
			*req = http.Request{Method: "BREW", URL: req.URL, Header: http.Header{}}
			return resp, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, inv, audits := hostileClient(t, srv.URL, tc.answer)
			body := &bodyCount{Reader: strings.NewReader("payload")}
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPut, srv.URL+"/x", body)
			req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("payload")), nil }
			req.Header.Set("X-Caller", "1")
			resp, err := c.Do(req)
			if err == nil {
				if resp.Body == nil {
					t.Fatal("nil body")
				}
				drain(resp)
			}
			if n := invCalls(inv); n != 1 {
				t.Errorf("inventory recorded %d calls, want 1", n)
			}
			if n := audits.Load(); n != 1 {
				t.Errorf("audit log wrote %d records, want 1", n)
			}
			if n := body.closes.Load(); n != 1 {
				t.Errorf("request body closed %d times, want once", n)
			}
			if req.Method != http.MethodPut || req.Header.Get("X-Caller") != "1" || len(req.Header) != 1 || req.URL.Path != "/x" {
				t.Errorf("caller's request changed: %s %s %v", req.Method, req.URL, req.Header)
			}
		})
	}
}

// A call layer that panics: the panic reaches the caller's goroutine (as
// net/http lets a RoundTripper's), and the client keeps working. Each call
// is recorded once, the one that panicked as an error (no status).
func TestCallLayerHostilePanic(t *testing.T) {
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	var n atomic.Int32
	c, inv, audits := hostileClient(t, srv.URL, func(next http.RoundTripper, req *http.Request) (*http.Response, error) {
		if n.Add(1) == 1 {
			panic("hostile")
		}
		return next.RoundTrip(req)
	})
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
		_, _ = c.Do(req)
	}()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got := invCalls(inv); got != 2 {
		t.Errorf("inventory recorded %d calls, want 2", got)
	}
	if e := inv.Snapshot().Entries; len(e) != 1 || e[0].Status["error"] != 1 || e[0].Status["2xx"] != 1 {
		t.Errorf("inventory entries %+v, want one with 1 error and 1 2xx", e)
	}
	if got := audits.Load(); got != 2 {
		t.Errorf("audit log wrote %d records, want 2", got)
	}
}
