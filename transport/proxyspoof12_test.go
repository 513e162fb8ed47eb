package transport_test

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestProxyRefusalIsNotAHeaderLimit: net/http turns a proxy's refusal of
// CONNECT into an error of the proxy's own status text. A proxy whose text
// is, word for word, net/http's error for a response header over the
// limit must not pass for one (a *ResponseTooLargeError, which no layer
// retries and the breaker does not count): no response header was read,
// the request never reached a connection to the host.
func TestProxyRefusalIsNotAHeaderLimit(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	limit := transport.DefaultMaxResponseHeaderBytes
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				c.Write([]byte("HTTP/1.1 502 net/http: server response headers exceeded " + strconv.Itoa(limit) + " bytes; aborted\r\nContent-Length: 0\r\n\r\n"))
			}()
		}
	}()
	b, err := transport.NewBase(transport.BaseConfig{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: l.Addr().String()})})
	if err != nil {
		t.Fatal(err)
	}
	defer b.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/", nil)
	resp, err := b.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("the proxy's refusal was a response")
	}
	var tl *transport.ResponseTooLargeError
	if errors.As(err, &tl) {
		t.Fatalf("the proxy's status text passed for a response header over the limit: %v", err)
	}
}
