package transport_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// A hand-built stack with a 256 KiB response body limit gives the base the
// same HTTP/2 stream receive window, so that a server cannot push
// net/http's default 4 MiB per stream into memory ahead of the caller's
// reads, past the limit. (client.New sizes it from WithMaxResponseBytes.)
func ExampleBaseConfig_http2ReceiveWindow() {
	const limit = 256 << 10
	ca, _ := testpki.NewCA("example root")
	leaf, _ := ca.Server("api.example.test")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), 4<<20)) // 4 MiB, far past the limit
	}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	srv.StartTLS()
	defer srv.Close()

	base, err := transport.NewBase(transport.BaseConfig{
		TLSConfig:                      &tls.Config{RootCAs: testpki.Pool(ca)},
		HTTP2MaxReceiveBufferPerStream: limit,
		DialContext:                    pkiDialTo(srv.Listener.Addr().String()), // api.example.test -> srv
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer base.CloseIdleConnections()
	rt, err := transport.NewLimits(base, transport.LimitsConfig{MaxBodyBytes: limit})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := (&http.Client{Transport: rt}).Get("https://api.example.test/v1/export")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	fmt.Println(resp.Proto, "read:", n, "too large:", errors.Is(err, transport.ErrResponseTooLarge))

	_, err = transport.NewBase(transport.BaseConfig{HTTP2MaxReceiveBufferPerStream: -1})
	var ce *transport.ConfigError
	if errors.As(err, &ce) {
		fmt.Println("option:", ce.Option)
	}
	// Output:
	// HTTP/2.0 read: 262144 too large: true
	// option: HTTP2MaxReceiveBufferPerStream
}
