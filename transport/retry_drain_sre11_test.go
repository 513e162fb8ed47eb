package transport_test

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// readCounting counts the bytes read from every response body next
// returns.
type readCounting struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *readCounting) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err == nil {
		resp.Body = &countedBody{ReadCloser: resp.Body, n: &c.n}
	}
	return resp, err
}

type countedBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countedBody) Read(p []byte) (int, error) {
	k, err := b.ReadCloser.Read(p)
	b.n.Add(int64(k))
	return k, err
}

// TestRetryDrainsOnlyWhatCanSaveTheConnection: the retry layer does not
// read a discarded response's body whose declared length is above
// MaxDrain, as net/http skips its own drain of a redirect's body past its
// limit: the body cannot be read to its end, so the stream is reset (an
// HTTP/1.1 connection closed) whatever is read. Reading 64 KiB of it
// anyway buys nothing, and from a server that trickles it holds the retry
// until the attempt's deadline. A body within the limit is still drained
// and its connection reused.
func TestRetryDrainsOnlyWhatCanSaveTheConnection(t *testing.T) {
	const big = 1 << 20
	for _, tc := range []struct {
		name      string
		h2        bool
		length    int  // body size of the 503
		declared  bool // with a Content-Length
		wantRead  int64
		wantConns int64
	}{
		{name: "http1-declared-over-limit", length: big, declared: true, wantRead: 0, wantConns: 2},
		{name: "http1-small", length: 1000, declared: true, wantRead: 1000, wantConns: 1},
		{name: "http2-declared-over-limit", h2: true, length: big, declared: true, wantRead: 0, wantConns: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls, conns atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) > 1 {
					w.WriteHeader(http.StatusOK)
					return
				}
				if tc.declared {
					w.Header().Set("Content-Length", strconv.Itoa(tc.length))
				}
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write(make([]byte, tc.length))
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Config.ErrorLog = nil
			base := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: tc.h2}
			if tc.h2 {
				srv.EnableHTTP2 = true
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			defer base.CloseIdleConnections()
			rc := &readCounting{next: base}
			rt := newRetry(t, rc, transport.RetryConfig{BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond})
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || transport.Attempts(resp) != 2 {
				t.Fatalf("status %d after %d attempts, want 200 after 2", resp.StatusCode, transport.Attempts(resp))
			}
			if tc.h2 && resp.ProtoMajor != 2 {
				t.Fatalf("protocol %s, want HTTP/2", resp.Proto)
			}
			if got := rc.n.Load(); got != tc.wantRead {
				t.Errorf("%d bytes of the discarded body read, want %d", got, tc.wantRead)
			}
			if got := conns.Load(); got != tc.wantConns {
				t.Errorf("%d connections, want %d", got, tc.wantConns)
			}
		})
	}
}
