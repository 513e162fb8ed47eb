package transport_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
)

// TestTruncatedBodyNeverEndsCleanHandBuilt: through a hand-built stack
// over net/http (HTTP/1.1, TLS), a chunked body whose reading the total or
// the attempt timeout cut never reads as complete, although the server (a
// Go handler that returns once the client goes away) ends it cleanly and
// that end can reach the client while it closes the connection: the read
// fails with a *BodyTimeoutError naming the timeout, every time.
func TestTruncatedBodyNeverEndsCleanHandBuilt(t *testing.T) {
	const runs = 12
	const cut = 100 * time.Millisecond
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("first"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	srv.EnableHTTP2 = false
	srv.StartTLS()
	t.Cleanup(srv.Close)

	retry := func(next http.RoundTripper) http.RoundTripper {
		rt, err := transport.NewRetry(next, transport.RetryConfig{MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	total := func(next http.RoundTripper, d time.Duration) http.RoundTripper {
		rt, err := transport.NewTotalTimeout(next, d)
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	attempt := func(next http.RoundTripper, d time.Duration) http.RoundTripper {
		rt, err := transport.NewAttemptTimeout(next, d)
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	for _, tc := range []struct {
		name  string
		stack func(http.RoundTripper) http.RoundTripper
		layer transport.TimeoutLayer
	}{
		{"total", func(b http.RoundTripper) http.RoundTripper { return total(b, cut) }, transport.TimeoutTotal},
		{"attempt", func(b http.RoundTripper) http.RoundTripper { return attempt(b, cut) }, transport.TimeoutAttempt},
		{"attempt-in-retry", func(b http.RoundTripper) http.RoundTripper {
			return total(retry(attempt(b, cut)), 5*time.Second)
		}, transport.TimeoutAttempt},
		{"total-over-retry", func(b http.RoundTripper) http.RoundTripper {
			return total(retry(attempt(b, 5*time.Second)), cut)
		}, transport.TimeoutTotal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := srv.Client().Transport.(*http.Transport).Clone()
			defer base.CloseIdleConnections()
			rt := tc.stack(base)
			clean, wrong, reads := 0, 0, 0
			var first error
			// A loaded machine may take the whole cut before the headers
			// arrive: such a try reads no body and is not counted (at most
			// 3*runs tries; at least runs/3 reads).
			for try := 0; try < 3*runs && reads < runs; try++ {
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/", nil)
				resp, err := rt.RoundTrip(req)
				if err != nil {
					if errors.Is(err, context.DeadlineExceeded) {
						continue
					}
					t.Fatalf("RoundTrip: %v", err)
				}
				reads++
				_, err = io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				bte, typed := errors.AsType[*transport.BodyTimeoutError](err)
				switch {
				case err == nil:
					clean++
				case !typed || bte.Layer != tc.layer || bte.Duration != cut || !errors.Is(err, context.DeadlineExceeded):
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
				t.Errorf("%d reads of %d ended in a clean EOF, %d with another error than the %s timeout's (first: %T %v)", clean, reads, wrong, tc.layer, first, first)
			}
		})
	}
}

// endsAtCancel answers a body "first" whose end comes when the request's
// context ends, as net/http hands over a chunked body that a Go server
// ended because the client went away; deaf, it ends the body after a
// second without looking at the context. proto is the response's
// ProtoMajor, length its ContentLength.
type endsAtCancel struct {
	deaf   bool
	proto  int
	length int64
}

func (e endsAtCancel) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	body := &scriptedBody{data: "first", end: func() {
		if e.deaf {
			time.Sleep(time.Second)
		} else {
			<-ctx.Done()
		}
	}}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: body,
		ContentLength: e.length, ProtoMajor: e.proto, ProtoMinor: 1, Request: req}, nil
}

type scriptedBody struct {
	data string
	end  func()
}

func (b *scriptedBody) Read(p []byte) (int, error) {
	if b.data != "" {
		n := copy(p, b.data)
		b.data = b.data[n:]
		return n, nil
	}
	b.end()
	return 0, io.EOF
}

func (b *scriptedBody) Close() error { return nil }

// TestTruncatedBodyEOFRule: the EOF of a body read once the deadline that
// bounds it ran out is that deadline's error only where such an end can be
// the server's reaction to the cancellation: an HTTP/1 body of unknown
// length, under a deadline the transport waited on. A body whose length
// was declared (a cut one fails with io.ErrUnexpectedEOF), an HTTP/2 one
// (a canceled stream is reset: its body fails), or one from a transport
// that never looked at the context (nothing was canceled under it) keeps
// its EOF.
func TestTruncatedBodyEOFRule(t *testing.T) {
	for _, tc := range []struct {
		name string
		next endsAtCancel
		cut  bool
	}{
		{"h1-unknown-length", endsAtCancel{proto: 1, length: -1}, true},
		{"h1-content-length", endsAtCancel{proto: 1, length: 5}, false},
		{"h2-unknown-length", endsAtCancel{proto: 2, length: -1}, false},
		{"deaf", endsAtCancel{deaf: true, proto: 1, length: -1}, false},
	} {
		for _, layer := range []transport.TimeoutLayer{transport.TimeoutTotal, transport.TimeoutAttempt} {
			t.Run(tc.name+"/"+string(layer), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					var rt http.RoundTripper
					var err error
					if layer == transport.TimeoutTotal {
						rt, err = transport.NewTotalTimeout(tc.next, 500*time.Millisecond)
					} else {
						rt, err = transport.NewAttemptTimeout(tc.next, 500*time.Millisecond)
					}
					if err != nil {
						t.Fatal(err)
					}
					req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://api.example.com/", nil)
					resp, err := rt.RoundTrip(req)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					b, err := io.ReadAll(resp.Body)
					bte, typed := errors.AsType[*transport.BodyTimeoutError](err)
					switch {
					case tc.cut && (!typed || bte.Layer != layer || !errors.Is(err, context.DeadlineExceeded)):
						t.Errorf("read %q, %T %v: want a *BodyTimeoutError of the %s timeout", b, err, err, layer)
					case !tc.cut && err != nil:
						t.Errorf("read %q, %v: want the body's clean end", b, err)
					case string(b) != "first":
						t.Errorf("read %q", b)
					}
				})
			})
		}
	}
}

// TestTruncatedBodyEOFRuleCaller: under a stack's timeout, the caller's
// own cancellation ending an HTTP/1 body of unknown length is its plain
// context error, not a clean EOF and not a *BodyTimeoutError.
func TestTruncatedBodyEOFRuleCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt, err := transport.NewTotalTimeout(endsAtCancel{proto: 1, length: -1}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.com/", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		time.AfterFunc(time.Second, cancel)
		b, err := io.ReadAll(resp.Body)
		if err != context.Canceled || !strings.HasPrefix(string(b), "first") {
			t.Errorf("read %q, %T %v: want context.Canceled", b, err, err)
		}
	})
}
