package transport_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/securecall/securecall/transport"
)

// A 204 or 304 has no content by definition, and net/http hands out
// http.NoBody for one over HTTP/1.1; over HTTP/2 it hands out a real body
// when the server does not end the stream with the header, and reads into
// it whatever DATA follows. The limits layer took such a response for
// bodiless and returned that body unbounded: over a caller's own
// transport (NewLimits alone, client.WithBaseTransport), a server could
// send a 204 with any number of bytes behind it, read in full by a
// caller draining the body. Such a body is bounded as any other: its
// first MaxBodyBytes bytes, then a *ResponseTooLargeError.
func TestLimitsBodylessStatusOverHTTP2IsBounded(t *testing.T) {
	const limit, sent = 1 << 10, 256 << 10
	for _, status := range []int{http.StatusNoContent, http.StatusNotModified} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			srv, base := newRawH2Server(t, func(fr *http2.Framer, id uint32, _ net.Conn) {
				var buf bytes.Buffer
				enc := hpack.NewEncoder(&buf)
				_ = enc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(status)})
				_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: buf.Bytes(), EndHeaders: true})
				chunk := make([]byte, 16<<10)
				for n := 0; n < sent; n += len(chunk) {
					if fr.WriteData(id, n+len(chunk) >= sent, chunk) != nil {
						return
					}
				}
			})
			rt, err := transport.NewLimits(base, transport.LimitsConfig{MaxBodyBytes: limit})
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.url+"/x", nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != status {
				t.Fatalf("status %d, want %d", resp.StatusCode, status)
			}
			got, err := io.ReadAll(resp.Body)
			if len(got) > limit {
				t.Errorf("read %d bytes of a %d's body past the %d-byte limit (err %v)", len(got), status, limit, err)
			}
			if len(got) > 0 || err != nil {
				var tl *transport.ResponseTooLargeError
				if !errors.As(err, &tl) || tl.Limit != limit || tl.Part != "body" {
					t.Errorf("read %d bytes, err %v; want a *ResponseTooLargeError naming the %d-byte body limit", len(got), err, limit)
				}
			}
		})
	}
}
