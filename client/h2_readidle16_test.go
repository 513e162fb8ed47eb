package client_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/securecall/securecall/client"
)

// rawH2Server serves HTTP/2 over TLS (the package's test certificate) with
// serve, which gets each accepted connection's framer after the
// connection preface and the server's SETTINGS, and its number (1 for the
// first). It returns the origin ("https://localhost:port") and the number
// of connections accepted.
func rawH2Server(t *testing.T, serve func(fr *http2.Framer, n int32)) (string, *atomic.Int32) {
	t.Helper()
	_, leaf := testPKI()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int32
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := conns.Add(1)
			wg.Go(func() {
				defer c.Close()
				stop := context.AfterFunc(t.Context(), func() { c.Close() })
				defer stop()
				preface := make([]byte, len(http2.ClientPreface))
				if _, err := io.ReadFull(c, preface); err != nil {
					return
				}
				fr := http2.NewFramer(c, c)
				if fr.WriteSettings() != nil {
					return
				}
				serve(fr, n)
			})
		}
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return "https://localhost:" + port, &conns
}

// writeH2Headers writes a response header with status (and no body when
// end is set) on stream id.
func writeH2Headers(fr *http2.Framer, id uint32, status string, end bool) error {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	_ = enc.WriteField(hpack.HeaderField{Name: ":status", Value: status})
	return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: buf.Bytes(), EndHeaders: true, EndStream: end})
}

// WithHTTP2ReadIdleTimeout reaches the client's base: a connection whose
// server answered one request and then went silent (no frame, PING ACKs
// included; no RST, no FIN) is found dead by the PING sent after the
// configured read idle time, and the next call is made over a new
// connection and succeeds. With the default (30 s) the second call is
// sent over the silent connection and waits until its context ends.
func TestWithHTTP2ReadIdleTimeoutFindsDeadConn(t *testing.T) {
	origin, conns := rawH2Server(t, func(fr *http2.Framer, n int32) {
		silent := false
		for {
			f, err := fr.ReadFrame()
			if err != nil || silent {
				if err != nil {
					return
				}
				continue
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					_ = fr.WriteSettingsAck()
				}
			case *http2.PingFrame:
				if !f.IsAck() {
					_ = fr.WritePing(true, f.Data)
				}
			case *http2.HeadersFrame:
				_ = writeH2Headers(fr, f.StreamID, "204", true)
				silent = n == 1
			}
		}
	})
	c, err := client.New(opts(loopback(),
		client.WithOrigins(origin),
		client.WithHTTP2ReadIdleTimeout(100*time.Millisecond),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for i := range 2 {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, origin+"/x", nil)
		resp, err := c.Do(req)
		cancel()
		if err != nil {
			t.Fatalf("call %d: %v (connections %d)", i, err, conns.Load())
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("call %d: %s %s, want HTTP/2 204", i, resp.Proto, resp.Status)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (the silent one, then a new one)", n)
	}
}

// A negative WithHTTP2ReadIdleTimeout is a *ConfigError naming the option,
// and so is the option with WithBaseTransport, whose base it would
// configure.
func TestWithHTTP2ReadIdleTimeoutInvalid(t *testing.T) {
	for name, o := range map[string][]client.Option{
		"negative": {client.WithHTTP2ReadIdleTimeout(-time.Second)},
		"with WithBaseTransport": {
			client.WithHTTP2ReadIdleTimeout(time.Minute),
			client.WithBaseTransport(http.DefaultTransport),
		},
	} {
		_, err := client.New(o...)
		var ce *client.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "WithHTTP2ReadIdleTimeout") {
			t.Errorf("%s: %v, want a *ConfigError naming WithHTTP2ReadIdleTimeout", name, err)
		}
	}
}
