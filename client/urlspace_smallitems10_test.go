package client_test

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
)

// rawH1Server accepts HTTP/1.1 connections on a raw TCP listener, records
// each request line as sent and answers 200 with an empty body.
type rawH1Server struct {
	ln    net.Listener
	mu    sync.Mutex
	lines []string
}

func newRawH1Server(t *testing.T) *rawH1Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawH1Server{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					s.mu.Lock()
					s.lines = append(s.lines, line)
					s.mu.Unlock()
					for { // the header section; GET requests carry no body
						h, err := br.ReadString('\n')
						if err != nil {
							return
						}
						if h == "\r\n" {
							break
						}
					}
					if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
	return s
}

func (s *rawH1Server) requestLines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.lines)
}

// TestSpaceOrHashInRequestTargetIsRefused: net/http writes URL.RawQuery and
// URL.Opaque as they are, so a space in them (url.Parse keeps one:
// "https://h/p?a=1 HTTP/1.0" has that RawQuery) makes an HTTP/1.1 request
// line with more than two spaces ("GET /p?a=1 HTTP/1.0 HTTP/1.1"), which a
// lenient server or proxy may read as another target or version than the
// one signed, and a '#' (hand-set only) starts a fragment a request-target
// cannot carry. Both are refused as ErrInvalidRequest, over HTTP/1.1 and
// HTTP/2 (which sends the :path as is), before anything is sent; a query
// with other bytes outside RFC 3986 that url.Parse accepts ('[', '|', '"')
// still goes out as it is.
func TestSpaceOrHashInRequestTargetIsRefused(t *testing.T) {
	var hits atomic.Int32
	h2 := newTLSServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	h1 := newRawH1Server(t)
	h1URL := "http://" + h1.ln.Addr().String()
	for _, srvURL := range []string{h2.URL, h1URL} {
		c, err := client.New(opts(loopback(), client.WithOrigins(srvURL), client.WithTimeout(5*time.Second))...)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, mk := range []func() *http.Request{
			func() *http.Request { r, _ := http.NewRequest(http.MethodGet, srvURL+"/p?a=1 HTTP/1.0", nil); return r },
			func() *http.Request {
				r, _ := http.NewRequest(http.MethodGet, srvURL+"/p", nil)
				r.URL.RawQuery = "a=1 HTTP/1.0\x20"
				return r
			},
			func() *http.Request {
				r, _ := http.NewRequest(http.MethodGet, srvURL+"/p", nil)
				r.URL.RawQuery = "a#b"
				return r
			},
			func() *http.Request {
				r, _ := http.NewRequest(http.MethodGet, srvURL+"/p", nil)
				r.URL.Opaque = "/x y"
				return r
			},
			func() *http.Request {
				r, _ := http.NewRequest(http.MethodGet, srvURL+"/p", nil)
				r.URL.Opaque = "/x#y"
				return r
			},
		} {
			req := mk()
			resp, err := c.Do(req)
			if resp != nil {
				resp.Body.Close()
			}
			if !errors.Is(err, client.ErrInvalidRequest) {
				t.Errorf("%s Opaque %q RawQuery %q: err = %v, want ErrInvalidRequest", srvURL[:5], req.URL.Opaque, req.URL.RawQuery, err)
			}
		}
		req, _ := http.NewRequest(http.MethodGet, srvURL+`/good?q=a%20b&f[x]=1|2&s="t"`, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("good call after the refused ones: %v", err)
		}
		resp.Body.Close()
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("HTTP/2 server got %d requests, want only the good one", n)
	}
	if got, want := h1.requestLines(), []string{"GET /good?q=a%20b&f[x]=1|2&s=\"t\" HTTP/1.1\r\n"}; !slices.Equal(got, want) {
		t.Errorf("HTTP/1.1 request lines %q, want %q", got, want)
	}
}
