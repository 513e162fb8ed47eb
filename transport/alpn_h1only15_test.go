package transport_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/net/http2"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// alpnServer listens for TLS with cfg and hands each connection, its
// handshake done, to serve (which closes it).
func alpnServer(t *testing.T, cfg *tls.Config, serve func(c *tls.Conn)) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				tc := c.(*tls.Conn)
				if tc.Handshake() != nil {
					return
				}
				serve(tc)
			})
		}
	})
	return ln.Addr().String()
}

// h1OnlyBase is a Base offering HTTP/1.1 alone (NextProtos without "h2")
// that dials addr for every host.
func h1OnlyBase(t *testing.T, w *pkiWorld, addr string) *transport.Base {
	t.Helper()
	b, err := transport.NewBase(transport.BaseConfig{
		TLSConfig:   &tls.Config{RootCAs: testpki.Pool(w.ca), NextProtos: []string{"http/1.1"}},
		DialContext: pkiDialTo(addr),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.CloseIdleConnections)
	return b
}

// A server that speaks only HTTP/2 (ALPN "h2" alone) accepts the TLS
// handshake of a client offering only http/1.1 with no protocol
// negotiated (crypto/tls lets such clients in, golang/go#46310), then
// closes the connection without an answer (gRPC servers enforcing ALPN),
// or writes its HTTP/2 SETTINGS frame and closes once it reads an
// HTTP/1.1 request for its preface. The call
// failed with a bare "EOF", or a "malformed HTTP response" of binary
// bytes: it is a *NoProtocolError saying what happened, which keeps the
// error it explains (a server that speaks HTTP/1.1 without ALPN and
// closed a new connection looks the same to the client, so the call is
// classified as before).
func TestH1OnlyClientH2OnlyServerNoProtocolError(t *testing.T) {
	w := newPKIWorld(t)
	for name, c := range map[string]struct {
		max   uint16
		serve func(c *tls.Conn)
	}{
		"closes, TLS 1.3": {tls.VersionTLS13, func(*tls.Conn) {}},
		"closes, TLS 1.2": {tls.VersionTLS12, func(*tls.Conn) {}},
		"sends SETTINGS once the request is read": {tls.VersionTLS13, func(c *tls.Conn) {
			if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
				return
			}
			_ = http2.NewFramer(c, nil).WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100})
		}},
	} {
		t.Run(name, func(t *testing.T) {
			var conns atomic.Int32
			addr := alpnServer(t, &tls.Config{Certificates: []tls.Certificate{w.leaf.TLS}, NextProtos: []string{"h2"}, MaxVersion: c.max},
				func(tc *tls.Conn) {
					conns.Add(1)
					if p := tc.ConnectionState().NegotiatedProtocol; p != "" {
						t.Errorf("the server negotiated %q", p)
					}
					c.serve(tc)
				})
			b := h1OnlyBase(t, w, addr)
			for i := range 3 {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://api.example.test/", nil)
				resp, err := b.RoundTrip(req)
				if err == nil {
					resp.Body.Close()
					t.Fatal("an HTTP/2-only server answered an HTTP/1.1 request")
				}
				var np *transport.NoProtocolError
				if !errors.As(err, &np) {
					t.Fatalf("call %d: err = %v (%T), want a *NoProtocolError", i, err, err)
				}
				if !strings.Contains(err.Error(), "negotiated no application protocol") || !strings.Contains(err.Error(), "HTTP/2") {
					t.Errorf("call %d: err %q does not say what happened", i, err)
				}
				if len(np.Offered) != 1 || np.Offered[0] != "http/1.1" {
					t.Errorf("call %d: Offered = %q, want [http/1.1]", i, np.Offered)
				}
				if np.Err == nil || !errors.Is(err, np.Err) {
					t.Errorf("call %d: the error explained (%v) is not kept", i, np.Err)
				}
			}
			if n := conns.Load(); n != 3 {
				t.Errorf("%d connections, want 3", n)
			}
		})
	}
}

// net/http's own server limited to HTTP/2 (Server.Protocols) closes a
// TLS connection that did not negotiate "h2" without a word.
func TestH1OnlyClientNetHTTPServerHTTP2Only(t *testing.T) {
	w := newPKIWorld(t)
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.EnableHTTP2 = true
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP2(true)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{w.leaf.TLS}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	b := h1OnlyBase(t, w, srv.Listener.Addr().String())
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://api.example.test/", nil)
	resp, err := b.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("an HTTP/2-only server answered an HTTP/1.1 request")
	}
	if _, ok := errors.AsType[*transport.NoProtocolError](err); !ok {
		t.Fatalf("err = %v (%T), want a *NoProtocolError", err, err)
	}
}

// The same client calling a server that speaks HTTP/1.1 without ALPN,
// or whose ALPN list holds "h2" alone but which serves HTTP/1.1 to a
// client without it (net/http's server): the calls are answered. And a
// failure over a connection that already carried an HTTP/1.1 answer is
// no protocol mismatch: it is returned as it was.
func TestH1OnlyClientHTTP1ServerWithoutALPN(t *testing.T) {
	w := newPKIWorld(t)
	for _, protos := range [][]string{nil, {"h2"}} {
		srv := pkiServer(t, w.leaf.TLS, false, nil, func(c *tls.Config) { c.NextProtos = protos })
		b := h1OnlyBase(t, w, srv.Listener.Addr().String())
		for range 2 {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://api.example.test/", nil)
			resp, err := b.RoundTrip(req)
			if err != nil {
				t.Fatalf("server NextProtos %q: %v", protos, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != "ok" || resp.ProtoMajor != 1 {
				t.Fatalf("server NextProtos %q: %s %d %q", protos, resp.Proto, resp.StatusCode, body)
			}
		}
	}

	// The first request is answered with keep-alive; the connection is
	// closed once the second has been read. A POST without GetBody is
	// not retried by net/http: its failure reaches the caller.
	addr := alpnServer(t, &tls.Config{Certificates: []tls.Certificate{w.leaf.TLS}}, func(c *tls.Conn) {
		br := bufio.NewReader(c)
		for i := 0; ; i++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			if i > 0 {
				return
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	b := h1OnlyBase(t, w, addr)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://api.example.test/", nil)
	resp, err := b.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodPost, "https://api.example.test/", io.NopCloser(strings.NewReader("x")))
	resp, err = b.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("the closed connection answered")
	}
	var np *transport.NoProtocolError
	if errors.As(err, &np) {
		t.Errorf("err %v: a failure over a reused HTTP/1.1 connection is reported as a protocol mismatch", err)
	}
}

// An http:// request through an https:// proxy runs over a TLS
// connection to the proxy, not to the server: a proxy that closes a new
// connection is no server that speaks only HTTP/2, and its failure was
// reported as a *NoProtocolError telling the caller to offer "h2".
func TestH1OnlyProxyCloseIsNoNoProtocolError(t *testing.T) {
	w := newPKIWorld(t)
	var conns atomic.Int32
	addr := alpnServer(t, &tls.Config{Certificates: []tls.Certificate{w.leaf.TLS}}, func(*tls.Conn) { conns.Add(1) })
	b, err := transport.NewBase(transport.BaseConfig{
		TLSConfig:   &tls.Config{RootCAs: testpki.Pool(w.ca), NextProtos: []string{"http/1.1"}},
		DialContext: pkiDialTo(addr),
		Proxy:       func(*http.Request) (*url.URL, error) { return url.Parse("https://api.example.test") },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.CloseIdleConnections)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://plain.example.test/", nil)
	resp, err := b.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("a proxy that closes answered")
	}
	if np, ok := errors.AsType[*transport.NoProtocolError](err); ok {
		t.Errorf("err = %v: a proxy's close reported as the server's missing protocol (%v)", err, np)
	}
	if conns.Load() == 0 {
		t.Error("the proxy was never reached")
	}
}
