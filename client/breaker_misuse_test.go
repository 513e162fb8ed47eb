package client_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/signer"
)

// streamOnly hides strings.Reader's type, so http.NewRequest sets no
// GetBody: a streamed body.
type streamOnly struct{ io.Reader }

// A caller's malformed requests fail before anything is sent; they say
// nothing about the host's health and must not open its circuit breaker,
// which would fail every good call to the host with ErrCircuitOpen (a
// self-inflicted outage from one bad code path).
func TestMalformedRequestsDoNotOpenTheBreaker(t *testing.T) {
	cases := []struct {
		name string
		opts []client.Option
		req  func(url string) *http.Request
		is   error
	}{
		{"unsignable streamed body", []client.Option{client.WithHMACSigning(hmacKeys(t))}, func(u string) *http.Request {
			req, _ := http.NewRequest(http.MethodPost, u, streamOnly{strings.NewReader("x")})
			return req
		}, signer.ErrBodyNotReplayable},
		{"invalid header value", nil, func(u string) *http.Request {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Header.Set("X-Bad", "a\nb")
			return req
		}, client.ErrInvalidRequest},
		{"invalid header name", nil, func(u string) *http.Request {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Header["X Bad"] = []string{"v"}
			return req
		}, client.ErrInvalidRequest},
		{"invalid trailer name", nil, func(u string) *http.Request {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Trailer = http.Header{"X Bad": {"v"}}
			return req
		}, client.ErrInvalidRequest},
		{"invalid trailer value", nil, func(u string) *http.Request {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Trailer = http.Header{"X-Bad": {"a\nb"}}
			return req
		}, client.ErrInvalidRequest},
		{"forbidden trailer name", nil, func(u string) *http.Request {
			req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader("x"))
			req.Trailer = http.Header{"content-length": nil}
			return req
		}, client.ErrInvalidRequest},
		{"HTTP/2 Connection header", nil, func(u string) *http.Request {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Header.Set("Connection", "upgrade")
			return req
		}, client.ErrInvalidRequest},
		{"HTTP/2 Upgrade header", nil, func(u string) *http.Request {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Header.Set("Upgrade", "websocket")
			return req
		}, client.ErrInvalidRequest},
		{"HTTP/2 Transfer-Encoding header", nil, func(u string) *http.Request {
			req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader("x"))
			req.Header.Set("Transfer-Encoding", "gzip")
			return req
		}, client.ErrInvalidRequest},
		{"invalid method", nil, func(u string) *http.Request {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Method = "G ET"
			return req
		}, client.ErrInvalidRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRecordingServer(t, true, nil)
			c, err := client.New(opts(opts(loopback(), client.WithOrigins(srv.URL)), tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// One good call first: an HTTP/2 connection is then open.
			good := func() error {
				req, _ := http.NewRequest(http.MethodGet, srv.URL+"/good", nil)
				resp, err := c.Do(req)
				if err == nil {
					resp.Body.Close()
				}
				return err
			}
			if err := good(); err != nil {
				t.Fatal(err)
			}
			for range 10 {
				resp, err := c.Do(tc.req(srv.URL + "/bad"))
				if err == nil {
					resp.Body.Close()
					t.Fatal("malformed request succeeded")
				}
				if tc.is != nil && !errors.Is(err, tc.is) {
					t.Fatalf("err = %v, want %v", err, tc.is)
				}
			}
			if err := good(); err != nil {
				t.Fatalf("good call after malformed ones: %v", err)
			}
			if n := len(srv.requests()); n != 2 {
				t.Errorf("server saw %d requests, want the 2 good ones", n)
			}
		})
	}
}
