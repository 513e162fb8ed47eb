package transport_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// countingConn counts the bytes the client read from the connection.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// countingDial dials addr (whatever the URL says) and counts what the
// client reads from every connection into n.
func countingDial(addr string, n *atomic.Int64) func(ctx context.Context, network, _ string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{c, n}, nil
	}
}

// A server sending a response header far over the limit must be cut off
// by the base transport while it reads the header, not buffered whole
// (net/http's own default is 10 MiB) and only then refused by the limits
// layer: the client reads little more than the limit, and the call fails
// with a *ResponseTooLargeError (never retried).
func TestBaseBoundsResponseHeaderWhileReading(t *testing.T) {
	const sent = 6 << 20 // under net/http's 10 MiB default, over ours
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := strings.Repeat("a", 1000)
		for i := 0; i < sent/1024; i++ {
			w.Header().Add("X-Big", v)
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	srv.Config.ErrorLog = nil
	for _, tc := range []struct {
		name  string
		limit int64 // BaseConfig.MaxResponseHeaderBytes
		want  int64 // the limit in effect
	}{
		{"default", 0, transport.DefaultMaxResponseHeaderBytes},
		{"set", 64 << 10, 64 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var read atomic.Int64
			b, err := transport.NewBase(transport.BaseConfig{
				DialContext:            countingDial(srv.Listener.Addr().String(), &read),
				MaxResponseHeaderBytes: tc.limit,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer b.CloseIdleConnections()
			rt, err := transport.NewLimits(b, transport.LimitsConfig{MaxHeaderBytes: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := (&http.Client{Transport: rt}).Get(srv.URL)
			if err == nil {
				resp.Body.Close()
				t.Fatal("an oversized response header was accepted")
			}
			var tl *transport.ResponseTooLargeError
			if !errors.As(err, &tl) || tl.Part != "header" || tl.Limit != tc.want {
				t.Fatalf("err = %v, want a *ResponseTooLargeError for the header with limit %d", err, tc.want)
			}
			if got := transport.Classify(context.Background(), nil, err, time.Now()).Class; got != transport.ClassPermanent {
				t.Errorf("Classify = %v, want permanent", got)
			}
			// The read buffer and the socket may deliver a little past the
			// limit; never the whole header.
			if n := read.Load(); n > tc.want+64<<10 {
				t.Errorf("client read %d bytes of a %d-byte header with a %d-byte limit", n, sent, tc.want)
			}
		})
	}
}

func TestNewBaseMaxResponseHeaderBytesNegative(t *testing.T) {
	_, err := transport.NewBase(transport.BaseConfig{MaxResponseHeaderBytes: -1})
	var ce *transport.ConfigError
	if !errors.As(err, &ce) || ce.Option != "MaxResponseHeaderBytes" {
		t.Fatalf("err = %v, want a *ConfigError for MaxResponseHeaderBytes", err)
	}
}

// HTTP/1.1 trailers come after the body, when net/http has lifted the
// header read limit; net/http bounds them by its read buffer instead (it
// looks for the blank line ending them within the buffered bytes). A
// server sending an endless trailer section cannot make the client read
// more than that: the body's read fails.
func TestBaseBoundsHTTP1Trailers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const trailer = 8 << 20
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		bw := bufio.NewWriter(c)
		io.WriteString(bw, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTrailer: X-T\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n")
		line := "X-T: " + strings.Repeat("t", 1000) + "\r\n"
		for i := 0; i < trailer/len(line); i++ {
			if _, err := io.WriteString(bw, line); err != nil {
				return
			}
		}
		io.WriteString(bw, "\r\n")
		bw.Flush()
	}()
	var read atomic.Int64
	b, err := transport.NewBase(transport.BaseConfig{DialContext: countingDial(ln.Addr().String(), &read)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.CloseIdleConnections()
	rt, err := transport.NewLimits(b, transport.LimitsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: rt}).Get("http://api.example.test/")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Fatalf("an %d-byte trailer section was read whole (body %q, %d trailer fields)", trailer, body, len(resp.Trailer["X-T"]))
	}
	if n := read.Load(); n > 1<<20 {
		t.Errorf("client read %d bytes of a response with an %d-byte trailer", n, trailer)
	}
}

// Over HTTP/2 the limit is the SETTINGS_MAX_HEADER_LIST_SIZE the client
// advertises; a response header over it fails the call with the same
// typed error.
func TestBaseBoundsResponseHeaderHTTP2(t *testing.T) {
	w := newPKIWorld(t)
	srv := pkiServer(t, w.leaf.TLS, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := strings.Repeat("a", 1000)
		for i := 0; i < 256; i++ {
			w.Header().Add("X-Big", v)
		}
		w.WriteHeader(http.StatusOK)
	}), nil)
	b := pkiBase(t, transport.BaseConfig{MaxResponseHeaderBytes: 64 << 10}, srv, w.ca)
	_, _, err := pkiGet(t, b, "https://api.example.test/")
	var tl *transport.ResponseTooLargeError
	if !errors.As(err, &tl) || tl.Part != "header" || tl.Limit != 64<<10 {
		t.Fatalf("err = %v, want a *ResponseTooLargeError for the header", err)
	}
}
