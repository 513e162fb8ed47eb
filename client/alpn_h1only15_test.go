package client_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// A client limited to HTTP/1.1 (NextProtos without "h2") calling a server
// that speaks only HTTP/2 (ALPN "h2" alone), which completes the TLS
// handshake with no protocol negotiated and closes the connection: the
// caller gets a *transport.NoProtocolError saying so, through the
// client's layers, not a bare EOF.
func TestClientHTTP1OnlyAgainstHTTP2OnlyServer(t *testing.T) {
	ca, leaf := testPKI()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, NextProtos: []string{"h2"}})
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
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	})
	url := "https://" + ln.Addr().String()
	tc := testpkiTrust(ca)
	tc.NextProtos = []string{"http/1.1"}
	c, err := client.New(opts(loopback(), client.WithTLSConfig(tc), client.WithOrigins(url))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/", nil)
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("an HTTP/2-only server answered")
	}
	if _, ok := errors.AsType[*transport.NoProtocolError](err); !ok {
		t.Errorf("err = %v, want a *transport.NoProtocolError", err)
	}
}
