package transport_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
)

// trickleServer answers its first request with status and a chunked body
// of content type ct that it trickles, a byte every 20 ms for 5 s, after
// the header; later requests get a 200 JSON answer. done is closed when
// the trickling handler returns; completed says it wrote its whole body
// (the client never closed the connection).
func trickleServer(t *testing.T, status int, ct string) (srv interface{ Close() }, url string, base *http.Transport, conns *atomic.Int64, done chan struct{}, completed *atomic.Bool) {
	t.Helper()
	var calls atomic.Int64
	done = make(chan struct{})
	completed = new(atomic.Bool)
	s, b, c := limitsServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > 1 {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte("{}"))
			return
		}
		defer close(done)
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		rc := http.NewResponseController(w)
		for range 250 {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		completed.Store(true)
	})
	return s, s.URL, b, c, done, completed
}

// A response the limits layer refuses (here for its media type) whose
// chunked body the server trickles was drained until it ended (or the
// call's deadline, 30 s by default): the caller got its *MediaTypeError
// only then. The drain is bounded by DrainTimeout too, as OkHttp bounds
// its discard; the body is then closed, and so its connection: the call
// returns its error while the server is still trickling, and the server
// sees the connection closed before its body's end.
func TestLimitsRefusalDrainBoundedInTime(t *testing.T) {
	srv, url, base, conns, done, completed := trickleServer(t, http.StatusOK, "text/html")
	defer srv.Close()
	defer base.CloseIdleConnections()
	rt := limitsLayer(t, base, transport.LimitsConfig{MediaTypes: []string{"application/json"}})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/refused", nil)
	resp, err := rt.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
	}
	if _, ok := errors.AsType[*transport.MediaTypeError](err); !ok {
		t.Fatalf("err = %v, want a *MediaTypeError", err)
	}
	<-done
	if completed.Load() {
		t.Fatal("the refusal waited for the whole trickled body: its drain is not bounded in time")
	}
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/ok", nil)
	resp, err = rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := conns.Load(); got != 2 {
		t.Errorf("%d connections, want 2 (the cut drain's connection closed)", got)
	}
}

// The retry layer drained a discarded 503's chunked body that the server
// trickles until it ended, holding the retry (up to the attempt's or the
// call's deadline). The drain is bounded by DrainTimeout: the retry is
// sent, on a new connection, while the server still trickles the 503.
func TestRetryDrainBoundedInTime(t *testing.T) {
	srv, url, base, conns, done, completed := trickleServer(t, http.StatusServiceUnavailable, "text/plain")
	defer srv.Close()
	defer base.CloseIdleConnections()
	rt := newRetry(t, base, transport.RetryConfig{BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || transport.Attempts(resp) != 2 {
		t.Fatalf("status %d after %d attempts, want 200 after 2", resp.StatusCode, transport.Attempts(resp))
	}
	<-done
	if completed.Load() {
		t.Fatal("the retry waited for the whole trickled 503 body: its drain is not bounded in time")
	}
	if got := conns.Load(); got != 2 {
		t.Errorf("%d connections, want 2", got)
	}
}

// stallBody never yields a byte; Close ends a Read waiting on it, as
// net/http's bodies do. closes counts the Close calls.
type stallBody struct {
	pr     *io.PipeReader
	closes atomic.Int32
}

func (b *stallBody) Read(p []byte) (int, error) { return b.pr.Read(p) }
func (b *stallBody) Close() error {
	b.closes.Add(1)
	return b.pr.Close()
}

// With a fake clock: a refused body that stalls is closed, once, exactly
// DrainTimeout after its drain began, and the refusal returned then.
func TestLimitsRefusalDrainTimeoutFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pr, pw := io.Pipe()
		defer pw.Close()
		body := &stallBody{pr: pr}
		next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{
				StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header:        http.Header{"Content-Type": {"text/html"}},
				Body:          body,
				ContentLength: -1,
				Request:       r,
			}, nil
		})
		rt := limitsLayer(t, next, transport.LimitsConfig{MediaTypes: []string{"application/json"}})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://api.example.com/x", strings.NewReader(""))
		start := time.Now()
		_, err := rt.RoundTrip(req)
		if !errors.Is(err, transport.ErrMediaTypeDenied) {
			t.Fatalf("err = %v, want ErrMediaTypeDenied", err)
		}
		if d := time.Since(start); d != transport.DrainTimeout {
			t.Errorf("refusal after %v, want DrainTimeout (%v)", d, transport.DrainTimeout)
		}
		if n := body.closes.Load(); n != 1 {
			t.Errorf("body closed %d times, want 1", n)
		}
	})
}
