package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// newGoneServer answers headers and a first chunk of a body of unknown
// length, then waits for the client to go away and returns: net/http then
// ends the chunked body cleanly (its terminating chunk), and that end can
// reach the client while it closes the connection for its cancellation
// (the close_notify of TLS goes out first).
func newGoneServer(t *testing.T, h2 bool) *httptest.Server {
	t.Helper()
	_, leaf := testPKI()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("first"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	srv.EnableHTTP2 = h2
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	srv.Config.ErrorLog = quietLog()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// TestTruncatedBodyNeverEndsClean: a body of unknown length whose reading
// a timeout (the client's total or attempt timeout, or the caller's own
// deadline or cancellation) cut never reads as complete: the server's
// clean end of the body, sent because the client went away, is not taken
// for the body's end. The read fails with a *transport.BodyTimeoutError
// for the client's own timeouts, with the caller's context error for the
// caller's, every time (runs times each, over HTTP/1.1 and HTTP/2).
func TestTruncatedBodyNeverEndsClean(t *testing.T) {
	const runs = 12
	const cut = 100 * time.Millisecond
	for _, h2 := range []bool{false, true} {
		proto := "h1"
		if h2 {
			proto = "h2"
		}
		srv := newGoneServer(t, h2)
		for _, tc := range []struct {
			name   string
			o      []client.Option
			caller string // "deadline" or "cancel": the caller's context cuts the read
			layer  transport.TimeoutLayer
		}{
			{"total", []client.Option{client.WithTimeout(cut), client.WithAttemptTimeout(0)}, "", transport.TimeoutTotal},
			{"attempt", []client.Option{client.WithTimeout(5 * time.Second), client.WithAttemptTimeout(cut)}, "", transport.TimeoutAttempt},
			{"attempt-derived", []client.Option{client.WithTimeout(3 * cut)}, "", transport.TimeoutAttempt},
			{"caller-deadline", nil, "deadline", ""},
			{"caller-cancel", nil, "cancel", ""},
			{"caller-deadline-under-timeouts", []client.Option{client.WithTimeout(5 * time.Second), client.WithAttemptTimeout(2 * time.Second)}, "deadline", ""},
			{"caller-cancel-under-timeouts", []client.Option{client.WithTimeout(5 * time.Second), client.WithAttemptTimeout(2 * time.Second)}, "cancel", ""},
		} {
			t.Run(proto+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				c, err := client.New(opts(loopback(), append([]client.Option{client.WithOrigins(srv.URL), client.WithMaxAttempts(1), client.WithoutBreaker()}, tc.o...)...)...)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				clean, wrong, reads := 0, 0, 0
				var first error
				// A loaded machine may take the whole cut before the
				// headers arrive: such a try reads no body and is not
				// counted (at most 3*runs tries; at least runs/3 reads).
				for try := 0; try < 3*runs && reads < runs; try++ {
					ctx, cancel := context.Background(), context.CancelFunc(func() {})
					switch tc.caller {
					case "deadline":
						ctx, cancel = context.WithTimeout(ctx, cut)
					case "cancel":
						ctx, cancel = context.WithCancel(ctx)
						time.AfterFunc(cut, cancel)
					}
					err, read := readGone(t, c, ctx, srv.URL+"/")
					cancel()
					if !read {
						continue
					}
					reads++
					switch {
					case err == nil:
						clean++
					case !wantCut(err, tc.caller, tc.layer):
						wrong++
						if first == nil {
							first = err
						}
					}
				}
				if reads < runs/3 {
					t.Fatalf("%d reads in %d tries: the cut ended most requests before their headers", reads, 3*runs)
				}
				if clean > 0 || wrong > 0 {
					t.Errorf("%d reads of %d ended in a clean EOF, %d with another error than the timeout's (first: %T %v)", clean, reads, wrong, first, first)
				}
			})
		}
	}
}

// readGone reads the body of a GET to url to its end and returns the
// read's error (nil: a clean EOF), and false when the call ended on its
// deadline or cancellation before the headers came (a loaded machine).
func readGone(t *testing.T, c *client.Client, ctx context.Context, url string) (error, bool) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return nil, false
		}
		t.Fatalf("Do: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && string(b) != "first" {
		t.Fatalf("read %q", b)
	}
	return err, true
}

// wantCut reports whether err is the error a read cut by the caller's
// context (caller "deadline" or "cancel") or by the client's timeout of
// layer fails with.
func wantCut(err error, caller string, layer transport.TimeoutLayer) bool {
	bte, typed := errors.AsType[*transport.BodyTimeoutError](err)
	switch caller {
	case "deadline":
		return err == context.DeadlineExceeded
	case "cancel":
		return err == context.Canceled
	}
	return typed && bte.Layer == layer && errors.Is(err, context.DeadlineExceeded)
}
