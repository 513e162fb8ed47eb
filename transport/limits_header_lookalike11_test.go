package transport_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/http2"

	"github.com/securecall/securecall/transport"
)

// The texts of net/http's own header-limit refusals, as a server could
// echo them.
const (
	h1HeaderLimitText = "net/http: server response headers exceeded 1048576 bytes; aborted"
	h2HeaderLimitText = "http2: response header list larger than advertised limit"
	h2InfoLimitText   = "stream error: stream ID 1; PROTOCOL_ERROR; header list too large"
)

// rawH1Server answers every request on a connection with reply, verbatim,
// then closes it.
func rawH1Server(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
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
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				_, _ = c.Write([]byte(reply))
			})
		}
	})
	return ln.Addr().String()
}

// A malformed HTTP/1.1 response whose bytes carry net/http's
// header-limit wording is a malformed response (net/http quotes it in
// its error), not an oversized header: the call must not fail with a
// *ResponseTooLargeError.
func TestHeaderLimitLookalikeHTTP1(t *testing.T) {
	for name, reply := range map[string]string{
		"status line": h1HeaderLimitText + "\r\n\r\n",
		"field line":  "HTTP/1.1 200 OK\r\nX-A: b\r\n" + h1HeaderLimitText + "\r\n\r\n",
		"h2 wording":  "HTTP/1.1 200 OK\r\nTransfer-Encoding: " + h2HeaderLimitText + "\r\n\r\n",
		"1xx wording": h2InfoLimitText + "\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			addr := rawH1Server(t, reply)
			b, err := transport.NewBase(transport.BaseConfig{DialContext: pkiDialTo(addr)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.CloseIdleConnections)
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://api.example.test/", nil)
			resp, err := b.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("a malformed response was accepted")
			}
			var tl *transport.ResponseTooLargeError
			if errors.As(err, &tl) || errors.Is(err, transport.ErrResponseTooLarge) {
				t.Errorf("err %v: a malformed response echoing the limit's wording is reported as an oversized header", err)
			}
		})
	}
}

// A GOAWAY whose debug data carries net/http's HTTP/2 header-limit
// wording fails the stream with a GoAwayError that quotes it: that is a
// connection closed by the server (ambiguous, retried when replayable),
// not an oversized header.
func TestHeaderLimitLookalikeHTTP2GoAway(t *testing.T) {
	for _, debug := range []string{h2HeaderLimitText, h2InfoLimitText, h1HeaderLimitText} {
		t.Run(debug, func(t *testing.T) {
			srv, raw := newRawH2Server(t, func(fr *http2.Framer, id uint32, c net.Conn) {
				_ = fr.WriteGoAway(id, http2.ErrCodeProtocol, []byte(debug))
				c.Close()
			})
			b, err := transport.NewBase(transport.BaseConfig{TLSConfig: &tls.Config{RootCAs: raw.TLSClientConfig.RootCAs}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.CloseIdleConnections)
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.url+"/", nil)
			resp, err := b.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("a stream closed by GOAWAY succeeded")
			}
			if !strings.Contains(err.Error(), "GOAWAY") {
				t.Fatalf("err %v: not the GOAWAY failure under test", err)
			}
			var tl *transport.ResponseTooLargeError
			if errors.As(err, &tl) {
				t.Errorf("err %v: a GOAWAY echoing the limit's wording is reported as an oversized header", err)
			}
		})
	}
}
