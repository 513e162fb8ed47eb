package transport_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/securecall/securecall/transport"
)

// silentH2Server is an HTTP/2 server over TLS whose first connection
// answers its first request stream with a 204 and then nothing more (no
// frame of any kind, PING ACKs included, the TCP connection kept open: a
// peer behind a dead NAT mapping or a hung process); every later
// connection answers each stream with a 204. It returns the origin, the
// client's TLS configuration and the number of connections accepted.
func silentH2Server(t *testing.T) (string, *tls.Config, *atomic.Int32) {
	t.Helper()
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	ts.EnableHTTP2 = true
	ts.StartTLS()
	cfg := ts.TLS.Clone()
	cfg.NextProtos = []string{"h2"}
	rootCAs := ts.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	ts.Close()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
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
				context.AfterFunc(t.Context(), func() { c.Close() })
				preface := make([]byte, len(http2.ClientPreface))
				if _, err := io.ReadFull(c, preface); err != nil {
					return
				}
				fr := http2.NewFramer(c, c)
				if fr.WriteSettings() != nil {
					return
				}
				silent := false
				for {
					f, err := fr.ReadFrame()
					if err != nil {
						return
					}
					if silent {
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
						write204(fr, f.StreamID)
						silent = n == 1
					}
				}
			})
		}
	})
	return "https://" + ln.Addr().String(), &tls.Config{RootCAs: rootCAs}, &conns
}

// An HTTP/2 connection whose peer went silent (no RST, no FIN) is found
// dead by the HTTP/2 health check (a PING after HTTP2ReadIdleTimeout of
// silence, unanswered): the request waiting on it fails as the connection
// lost, the retry layer sends the GET again over a new connection, and the
// call succeeds. Without the check net/http keeps the connection pooled
// and every request sent over it waits until its own timeout (the
// caller's here, ending the call).
func TestH2DeadConnFoundByPing(t *testing.T) {
	url, tc, conns := silentH2Server(t)
	addr := url[len("https://"):]
	base, err := transport.NewBase(transport.BaseConfig{
		TLSConfig:            tc,
		HTTP2ReadIdleTimeout: 100 * time.Millisecond,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(base.CloseIdleConnections)
	rt := newRetry(t, base, transport.RetryConfig{Backoff: resFixedBackoff(time.Millisecond), Budget: transport.BudgetConfig{Disabled: true}})
	for i := range 2 {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/x", nil)
		resp, err := rt.RoundTrip(req)
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
