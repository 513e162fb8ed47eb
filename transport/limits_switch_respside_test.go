package transport_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/securecall/securecall/transport"
)

// switchServer answers every request on a raw connection with a 101
// Switching Protocols (Connection: Upgrade), then streams size bytes of
// the "new protocol", as a hostile server may to any request.
func switchServer(t *testing.T, size int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: evil\r\n\r\n")
				chunk := bytes.Repeat([]byte("A"), 4096)
				for sent := 0; sent < size; sent += len(chunk) {
					if _, err := c.Write(chunk); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// A 101 to a request that asked for no protocol switch (no Upgrade
// header) is no upgrade the caller can use: net/http hands the raw
// connection over as the body, and the body limit applies to it as to any
// body, instead of letting the server stream without end. A request that
// asked for the switch keeps its unbounded, writable stream.
func TestLimitsUnsolicitedSwitchingProtocolsBodyBounded(t *testing.T) {
	const limit = 10 << 10
	url := switchServer(t, 1<<20)
	rt := limitsLayer(t, &http.Transport{}, transport.LimitsConfig{MaxBodyBytes: limit})

	req, _ := http.NewRequest(http.MethodGet, url+"/", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	var tl *transport.ResponseTooLargeError
	if n != limit || !errors.As(err, &tl) || tl.Part != "body" {
		t.Errorf("unsolicited 101: read %d bytes, err %v; want %d bytes and a *ResponseTooLargeError", n, err, limit)
	}

	for _, name := range []string{"Upgrade", "upgrade"} {
		req, _ = http.NewRequest(http.MethodGet, url+"/", nil)
		req.Header[name] = []string{"evil"}
		req.Header["Connection"] = []string{"Upgrade"}
		resp, err = rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := resp.Body.(io.Writer); !ok {
			t.Errorf("%s: requested 101: body %T is not writable", name, resp.Body)
		}
		n, err = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if n != 1<<20 || err != nil {
			t.Errorf("%s: requested 101: read %d bytes, err %v; want the whole stream", name, n, err)
		}
	}
}

// With a media-type allowlist, an unsolicited 101 with no Content-Type is
// refused like any other body of no allowed type.
func TestLimitsUnsolicitedSwitchingProtocolsMediaType(t *testing.T) {
	url := switchServer(t, 1<<20)
	rt := limitsLayer(t, &http.Transport{}, transport.LimitsConfig{MediaTypes: []string{"application/json"}})
	req, _ := http.NewRequest(http.MethodGet, url+"/", nil)
	resp, err := rt.RoundTrip(req)
	if err == nil {
		_ = resp.Body.Close()
	}
	var mt *transport.MediaTypeError
	if !errors.As(err, &mt) || mt.StatusCode != http.StatusSwitchingProtocols {
		t.Errorf("unsolicited 101 with an allowlist: err %v, want a *MediaTypeError", err)
	}
}
