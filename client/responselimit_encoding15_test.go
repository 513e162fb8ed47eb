package client_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"testing"

	"github.com/securecall/securecall/client"
)

// WithMaxResponseBytes bounds the stream the caller reads: the decoded
// bytes when net/http decompresses transparently (it asked for gzip), the
// encoded ones when the caller set Accept-Encoding itself and decodes on
// its own, as the option's doc says. Here about 8 KiB of gzip that expand to
// 8 MiB pass a 64 KiB limit whole: the caller's decoder must be bounded.
func TestResponseLimitCountsEncodedBytesWhenCallerDecodes(t *testing.T) {
	const decoded = 8 << 20
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(make([]byte, decoded))
	zw.Close()
	compressed := gz.Bytes()
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.(http.Flusher).Flush() // no Content-Length
		w.Write(compressed)
	}))
	const limit = 64 << 10
	if len(compressed) > limit {
		t.Fatalf("compressed size %d: the test assumes it under the limit", len(compressed))
	}
	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), client.WithMaxResponseBytes(limit))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Uncompressed {
		t.Fatal("net/http decoded a body the caller asked to decode")
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil || !bytes.Equal(b, compressed) {
		t.Fatalf("read %d bytes, %v; want the %d encoded bytes, under the limit", len(b), err, len(compressed))
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := io.Copy(io.Discard, zr); n != decoded {
		t.Fatalf("decoded %d bytes, want %d (past the limit: the caller's to bound)", n, decoded)
	}
}
