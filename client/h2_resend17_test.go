package client_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/securecall/securecall/client"
)

// h2Executions runs one request through a client to a raw HTTP/2 server
// that reads each request stream whole (its headers and its body: the
// request is executed) and then, for the first one, does what first says
// (a stream reset, a GOAWAY, a closed connection), and answers every
// later one with a 201. It returns the call's error and the number of
// requests the server executed.
func h2Executions(t *testing.T, method, key, body string, first func(fr *http2.Framer, id uint32, c net.Conn)) (int32, error) {
	t.Helper()
	_, leaf := testPKI()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	var executed atomic.Int32
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
				done := func(id uint32) {
					if executed.Add(1) == 1 {
						first(fr, id, c)
						return
					}
					var buf bytes.Buffer
					enc := hpack.NewEncoder(&buf)
					_ = enc.WriteField(hpack.HeaderField{Name: ":status", Value: "201"})
					_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: buf.Bytes(), EndHeaders: true, EndStream: true})
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
						if f.StreamEnded() {
							done(f.StreamID)
						}
					case *http2.DataFrame:
						if f.StreamEnded() {
							done(f.StreamID)
						}
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
	var rb io.Reader
	if body != "" {
		rb = strings.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), method, url+"/orders", rb)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return executed.Load(), err
}

// A server that executed a POST and then reset its stream, before any
// response, with an error other than REFUSED_STREAM may have acted on it
// (RFC 9113 §8.7: only REFUSED_STREAM, or a stream above a GOAWAY's
// last-stream-id, says it did not): a POST without an idempotency key is
// executed once, whatever the code, but PROTOCOL_ERROR: net/http's HTTP/2
// transport resends a request reset with PROTOCOL_ERROR itself
// (golang/go#47635), with a fresh body from GetBody, below every layer of
// ours (documented in resilience.md as net/http's; not tested here).
func TestH2ProcessedPostResetNotResent(t *testing.T) {
	for _, code := range []http2.ErrCode{http2.ErrCodeInternal, http2.ErrCodeCancel, http2.ErrCodeStreamClosed, http2.ErrCodeEnhanceYourCalm} {
		t.Run(code.String(), func(t *testing.T) {
			n, err := h2Executions(t, http.MethodPost, "", `{"n":1}`, func(fr *http2.Framer, id uint32, _ net.Conn) {
				_ = fr.WriteRSTStream(id, code)
			})
			if n != 1 {
				t.Errorf("POST without an idempotency key reset with %v after the server read it: executed %d times (err %v), want 1", code, n, err)
			}
			if err == nil {
				t.Errorf("POST reset with %v: no error", code)
			}
		})
	}
}

// The other ways a server that executed a POST loses its answer: a GOAWAY
// whose last-stream-id covers the stream, then a closed connection; a
// connection closed without a frame. Executed once.
func TestH2ProcessedPostLostAnswerNotResent(t *testing.T) {
	cases := map[string]func(fr *http2.Framer, id uint32, c net.Conn){
		"goaway_covering_no_error": func(fr *http2.Framer, id uint32, c net.Conn) {
			_ = fr.WriteGoAway(id, http2.ErrCodeNo, nil)
			c.Close()
		},
		"goaway_covering_internal": func(fr *http2.Framer, id uint32, c net.Conn) {
			_ = fr.WriteGoAway(id, http2.ErrCodeInternal, nil)
			c.Close()
		},
		"goaway_above_internal": func(fr *http2.Framer, id uint32, c net.Conn) {
			_ = fr.WriteGoAway(id+10, http2.ErrCodeInternal, nil)
			c.Close()
		},
		"close": func(_ *http2.Framer, _ uint32, c net.Conn) { c.Close() },
		"tcp_reset": func(_ *http2.Framer, _ uint32, c net.Conn) {
			if tc, ok := c.(*tls.Conn).NetConn().(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			c.Close()
		},
	}
	for name, first := range cases {
		t.Run(name, func(t *testing.T) {
			n, err := h2Executions(t, http.MethodPost, "", `{"n":1}`, first)
			if n != 1 || err == nil {
				t.Errorf("executed %d times (err %v), want 1 and an error", n, err)
			}
		})
	}
}

// A refused POST (REFUSED_STREAM, a GOAWAY below its stream) is executed
// once overall, net/http's own resend and the retry layer's together.
func TestH2RefusedPostExecutedOnce(t *testing.T) {
	cases := map[string]func(fr *http2.Framer, id uint32, c net.Conn){
		"refused_stream": func(fr *http2.Framer, id uint32, _ net.Conn) {
			_ = fr.WriteRSTStream(id, http2.ErrCodeRefusedStream)
		},
		"goaway_below_no_error": func(fr *http2.Framer, id uint32, c net.Conn) {
			_ = fr.WriteGoAway(id-1, http2.ErrCodeNo, nil)
			c.Close()
		},
		"goaway_below_error": func(fr *http2.Framer, id uint32, c net.Conn) {
			_ = fr.WriteGoAway(id-1, http2.ErrCodeEnhanceYourCalm, nil)
			c.Close()
		},
	}
	for name, first := range cases {
		t.Run(name, func(t *testing.T) {
			n, err := h2Executions(t, http.MethodPost, "", `{"n":1}`, first)
			// The first stream was answered by the refusal (counted by the
			// helper), the second executed: 2 streams read, 1 execution.
			if n != 2 || err != nil {
				t.Errorf("streams read %d (err %v), want 2 (one refused, one executed) and no error", n, err)
			}
		})
	}
}

// A POST without a key answered 503 with Retry-After, or 429, is executed
// once (the server may have acted on it before answering); with a key it
// is retried, and a GET too. Over HTTP/2, counted by the handler.
func TestH2ThrottledPostExecutedOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		method string
		key    string
		want   int32
	}{
		{"503_post", http.StatusServiceUnavailable, http.MethodPost, "", 1},
		{"429_post", http.StatusTooManyRequests, http.MethodPost, "", 1},
		{"503_post_key", http.StatusServiceUnavailable, http.MethodPost, "k-1", 3},
		{"429_get", http.StatusTooManyRequests, http.MethodGet, "", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/warm" {
					return
				}
				io.Copy(io.Discard, r.Body)
				n.Add(1)
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(tc.status)
			}))
			c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), client.WithMaxAttempts(3), client.WithoutThrottle(), client.WithoutBreaker())...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var body io.Reader
			if tc.method == http.MethodPost {
				body = strings.NewReader(`{"n":1}`)
			}
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+"/orders", body)
			if tc.key != "" {
				req.Header.Set("Idempotency-Key", tc.key)
			}
			resp, err := c.Do(req)
			if err == nil {
				if resp.ProtoMajor != 2 {
					t.Errorf("proto %s, want HTTP/2", resp.Proto)
				}
				resp.Body.Close()
			}
			if n.Load() != tc.want {
				t.Errorf("executed %d times (err %v), want %d", n.Load(), err, tc.want)
			}
		})
	}
}

// A stream that hangs after its response headers: the attempt timeout
// ends each attempt; a GET is sent MaxAttempts times, a POST without a key
// once. The attempts run over a connection a first call set up: with a
// 200 ms attempt timeout and a new connection, a loaded machine spent the
// whole first attempt in the TLS handshake (the POST was then never sent,
// "executed 0 times", and a GET was sent once).
func TestH2HangAfterHeadersAttempts(t *testing.T) {
	for _, tc := range []struct {
		method  string
		headers bool
		want    int32
	}{{http.MethodGet, true, 1}, {http.MethodPost, true, 1}, {http.MethodGet, false, 2}, {http.MethodPost, false, 1}} {
		t.Run(tc.method+map[bool]string{true: "_after_headers", false: "_before_headers"}[tc.headers], func(t *testing.T) {
			var n atomic.Int32
			srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/warm" {
					return
				}
				io.Copy(io.Discard, r.Body)
				n.Add(1)
				if tc.headers {
					w.WriteHeader(http.StatusOK)
					w.(http.Flusher).Flush()
				}
				<-r.Context().Done()
			}))
			c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), client.WithMaxAttempts(2), client.WithAttemptTimeout(time.Second), client.WithTimeout(10*time.Second))...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			warm(t, c, srv.URL+"/warm")
			var body io.Reader
			if tc.method == http.MethodPost {
				body = strings.NewReader(`{"n":1}`)
			}
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+"/orders", body)
			resp, err := c.Do(req)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if err == nil {
				t.Error("no error from a stream that hangs")
			}
			if n.Load() != tc.want {
				t.Errorf("executed %d times (err %v), want %d", n.Load(), err, tc.want)
			}
		})
	}
}

// warm makes a GET to url through c until one succeeds (at most 10 tries),
// so that the calls after it use the connection it set up.
func warm(t *testing.T, c *client.Client, url string) {
	t.Helper()
	var err error
	for range 10 {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		var resp *http.Response
		if resp, err = c.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return
		}
	}
	t.Fatalf("warming the connection: %v", err)
}
