package transport_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// failingBody is a caller's request body whose Read fails after a few
// bytes (a file on a failing disk, a pipe whose writer gave up).
type failingBody struct {
	sent int
	err  error
}

func (b *failingBody) Read(p []byte) (int, error) {
	if b.sent >= 4 {
		return 0, b.err
	}
	n := copy(p, "data"[b.sent:])
	b.sent += n
	return n, nil
}

func (b *failingBody) Close() error { return nil }

// TestBreakerCallerBodyReadErrorExcluded: a request whose own body fails
// to read (the caller's reader, not the host) is the caller's fault: over
// a real server, over HTTP/1.1 and HTTP/2, however many such requests
// fail, the host's breaker stays closed and a good request is sent.
func TestBreakerCallerBodyReadErrorExcluded(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		name := "http1"
		if h2 {
			name = "http2"
		}
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusOK)
			}))
			srv.EnableHTTP2 = h2
			srv.StartTLS()
			defer srv.Close()
			for _, stack := range []bool{false, true} {
				var opened int
				bcfg := transport.BreakerConfig{
					ConsecutiveFailures: 2,
					OnStateChange: func(_ string, _, to transport.BreakerState) {
						if to == transport.BreakerOpen {
							opened++
						}
					},
				}
				var rt http.RoundTripper
				if stack {
					// Inside a stack, each retry's body (GetBody) fails too.
					rc := transport.StandardPreset()
					rc.Breaker = bcfg
					rc.Retry.BaseDelay, rc.Retry.MaxDelay = time.Millisecond, time.Millisecond
					rc.Retry.Budget.Disabled = true
					var err error
					if rt, err = transport.NewResilience(srv.Client().Transport, rc); err != nil {
						t.Fatal(err)
					}
				} else {
					rt = newBreaker(t, srv.Client().Transport, bcfg)
				}
				boom := errors.New("disk on fire")
				for i := range 4 {
					req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, srv.URL+"/up", &failingBody{err: boom})
					req.GetBody = func() (io.ReadCloser, error) { return &failingBody{err: boom}, nil }
					resp, err := rt.RoundTrip(req)
					if err == nil {
						resp.Body.Close()
						t.Fatalf("upload %d: no error with a failing body", i)
					}
					if errors.Is(err, transport.ErrCircuitOpen) {
						t.Fatalf("stack %v: upload %d refused by the breaker (%v): the caller's failing bodies opened it", stack, i, err)
					}
					if !errors.Is(err, boom) {
						t.Fatalf("upload %d: err = %v; want the body's error", i, err)
					}
				}
				if code, err := resSend(t, t.Context(), rt, srv.URL+"/ok"); err != nil || code != 200 {
					t.Fatalf("a good GET after the failing uploads: %d, %v; want 200 (breaker closed)", code, err)
				}
				if opened != 0 {
					t.Fatalf("breaker opened %d times on the caller's own body errors", opened)
				}
			}
		})
	}
}
