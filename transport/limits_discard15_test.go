package transport_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// A response the limits layer refuses (a media type not allowed, a header
// over the limit) is drained only when that can save its connection: a
// body declared longer than the drain bound cannot be read to its end, so
// the connection is closed (the HTTP/2 stream reset) whatever is read, and
// an unsolicited 101's body is the connection itself, never reused.
// Reading 64 KiB of them anyway buys nothing, and from a server that
// trickles or stalls it holds the refusal until the call's deadline. A
// body within the bound is still drained and its connection reused, as
// the retry layer does (TestRetryDrainsOnlyWhatCanSaveTheConnection).
func TestLimitsRefusalDrainsOnlyWhatCanSaveTheConnection(t *testing.T) {
	const big = 1 << 20
	for _, tc := range []struct {
		name      string
		h2        bool
		header    bool // refused for its header, else for its media type
		length    int
		wantRead  int64
		wantConns int64
	}{
		{name: "http1-media-declared-over-drain", length: big, wantRead: 0, wantConns: 2},
		{name: "http1-header-declared-over-drain", header: true, length: big, wantRead: 0, wantConns: 2},
		{name: "http1-media-small", length: 1000, wantRead: 1000, wantConns: 1},
		{name: "http2-media-declared-over-drain", h2: true, length: big, wantRead: 0, wantConns: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, base, conns := limitsServer(t, tc.h2, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/ok" {
					w.Header().Set("Content-Type", "application/json")
					w.Write([]byte("{}"))
					return
				}
				w.Header().Set("Content-Type", "text/html")
				if tc.header {
					w.Header().Set("Content-Type", "application/json")
					w.Header().Set("X-Big", strings.Repeat("v", 200))
				}
				w.Header().Set("Content-Length", strconv.Itoa(tc.length))
				w.Write(make([]byte, tc.length))
			})
			rc := &readCounting{next: base}
			rt := limitsLayer(t, rc, transport.LimitsConfig{MaxHeaderBytes: 150, MediaTypes: []string{"application/json"}})
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/refused", nil)
			resp, err := rt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
			want := transport.ErrMediaTypeDenied
			if tc.header {
				want = transport.ErrResponseTooLarge
			}
			if !errors.Is(err, want) {
				t.Fatalf("err = %v, want %v", err, want)
			}
			if got := rc.n.Load(); got != tc.wantRead {
				t.Errorf("%d bytes of the refused body read, want %d", got, tc.wantRead)
			}
			req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/ok", nil)
			resp, err = rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if tc.h2 && resp.ProtoMajor != 2 {
				t.Fatalf("protocol %s, want HTTP/2", resp.Proto)
			}
			if got := conns.Load(); got != tc.wantConns {
				t.Errorf("%d connections, want %d", got, tc.wantConns)
			}
		})
	}
}

// An unsolicited 101 refused for its media type is not drained: its body
// is the connection's stream, which no later request can use.
func TestLimitsRefusedSwitchNotDrained(t *testing.T) {
	url := switchServer(t, 1<<20)
	rc := &readCounting{next: &http.Transport{}}
	rt := limitsLayer(t, rc, transport.LimitsConfig{MediaTypes: []string{"application/json"}})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/", nil)
	resp, err := rt.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
	}
	if !errors.Is(err, transport.ErrMediaTypeDenied) {
		t.Fatalf("err = %v, want ErrMediaTypeDenied", err)
	}
	if got := rc.n.Load(); got != 0 {
		t.Errorf("%d bytes of the switched stream read, want 0", got)
	}
}
