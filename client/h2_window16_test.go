package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/securecall/securecall/client"
)

// windowH2Server answers each request stream with a 200 and then DATA,
// as much as the client's flow control windows (connection and stream)
// let it send, up to 16 MiB, until the client resets the stream. It
// returns the origin and, once the client reset a stream, the number of
// body bytes sent on it (received on done).
func windowH2Server(t *testing.T) (string, <-chan int64) {
	t.Helper()
	done := make(chan int64, 1)
	origin, _ := rawH2Server(t, func(fr *http2.Framer, _ int32) {
		const bodyCap = 16 << 20
		connWin, streamInit := int64(65535), int64(65535)
		var id uint32
		var streamWin, sent int64
		chunk := make([]byte, 16<<10)
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if f.IsAck() {
					break
				}
				if v, ok := f.Value(http2.SettingInitialWindowSize); ok {
					streamWin += int64(v) - streamInit
					streamInit = int64(v)
				}
				_ = fr.WriteSettingsAck()
			case *http2.WindowUpdateFrame:
				if f.StreamID == 0 {
					connWin += int64(f.Increment)
				} else if f.StreamID == id {
					streamWin += int64(f.Increment)
				}
			case *http2.PingFrame:
				if !f.IsAck() {
					_ = fr.WritePing(true, f.Data)
				}
			case *http2.HeadersFrame:
				if id != 0 {
					break
				}
				id, streamWin = f.StreamID, streamInit
				if writeH2Headers(fr, id, "200", false) != nil {
					return
				}
			case *http2.RSTStreamFrame:
				if f.StreamID == id {
					done <- sent
					return
				}
			}
			for id != 0 && sent < bodyCap {
				n := min(int64(len(chunk)), connWin, streamWin, bodyCap-sent)
				if n <= 0 {
					break
				}
				if fr.WriteData(id, false, chunk[:n]) != nil {
					return
				}
				sent += n
				connWin -= n
				streamWin -= n
			}
		}
	})
	return origin, done
}

// Over HTTP/2 a server may send a response as far as the client's stream
// receive window lets it, whether the caller reads it or not: net/http's
// is 4 MiB, so a client whose WithMaxResponseBytes is 64 KiB let a server
// push 4 MiB into its memory per stream before the limit stopped the
// read. The client's base sizes the window to the limit (at least 64
// KiB): the server sends at most the limit (read), one window (buffered,
// unread) and a frame or two before the caller's error and reset.
func TestMaxResponseBytesBoundsH2StreamWindow(t *testing.T) {
	for _, limit := range []int64{1 << 10, 64 << 10, 1 << 20} {
		t.Run(strconv.FormatInt(limit, 10), func(t *testing.T) {
			origin, done := windowH2Server(t)
			c, err := client.New(opts(loopback(),
				client.WithOrigins(origin),
				client.WithMaxResponseBytes(limit),
			)...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, origin+"/big", nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if !errors.Is(err, client.ErrResponseTooLarge) || n != limit {
				t.Fatalf("read %d bytes, then %v; want %d and ErrResponseTooLarge", n, err, limit)
			}
			var sent int64
			select {
			case sent = <-done:
			case <-ctx.Done():
				t.Fatal("the server saw no RST_STREAM")
			}
			t.Logf("the server sent %d body bytes", sent)
			window := max(limit, 64<<10)
			if bound := limit + window + 32<<10; sent > bound {
				t.Errorf("the server sent %d body bytes before the reset, want at most %d (limit %d + window %d + 32 KiB)",
					sent, bound, limit, window)
			}
		})
	}
}
