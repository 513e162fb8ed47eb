package client_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/securecall/securecall/client"
)

// A server that refuses a stream with RST_STREAM REFUSED_STREAM has not
// processed the request (RFC 9113 §8.7): the client stack sends a POST
// again and the caller gets the answer to the one request the server
// processed.
func TestClientRetriesRefusedStreamPost(t *testing.T) {
	_, leaf := testPKI()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	var streams, processed atomic.Int32
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
				context.AfterFunc(t.Context(), func() { c.Close() })
				preface := make([]byte, len(http2.ClientPreface))
				if _, err := io.ReadFull(c, preface); err != nil {
					return
				}
				fr := http2.NewFramer(c, c)
				if fr.WriteSettings() != nil {
					return
				}
				for {
					f, err := fr.ReadFrame()
					if err != nil {
						return
					}
					switch f := f.(type) {
					case *http2.SettingsFrame:
						if !f.IsAck() {
							_ = fr.WriteSettingsAck()
						}
					case *http2.HeadersFrame:
						if streams.Add(1) == 1 {
							_ = fr.WriteRSTStream(f.StreamID, http2.ErrCodeRefusedStream)
							continue
						}
						processed.Add(1)
						var buf bytes.Buffer
						enc := hpack.NewEncoder(&buf)
						_ = enc.WriteField(hpack.HeaderField{Name: ":status", Value: "201"})
						_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: f.StreamID, BlockFragment: buf.Bytes(), EndHeaders: true, EndStream: true})
					}
				}
			})
		}
	})
	url := "https://" + ln.Addr().String()
	c, err := client.New(opts(loopback(), client.WithOrigins(url))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/orders", strings.NewReader(`{"n":1}`))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST refused once with REFUSED_STREAM: %v (streams %d)", err, streams.Load())
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || resp.ProtoMajor != 2 {
		t.Errorf("got %s %s, want HTTP/2 201", resp.Proto, resp.Status)
	}
	if s, p := streams.Load(), processed.Load(); s != 2 || p != 1 {
		t.Errorf("server saw %d streams, processed %d; want 2 and 1", s, p)
	}
}
