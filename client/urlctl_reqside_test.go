package client_test

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
)

// TestControlCharacterInRequestTargetIsRefused: a control character (or
// DEL) in a hand-set URL.RawQuery or URL.Opaque, which net/http's HTTP/1.1
// writer refuses only deep in the stack and its HTTP/2 transport does not
// refuse up front (the call then ran into the total timeout), is refused
// before the stack as ErrInvalidRequest, over HTTP/2 and HTTP/1.1, and
// nothing reaches the server; a good call to the host still goes through.
func TestControlCharacterInRequestTargetIsRefused(t *testing.T) {
	var hits atomic.Int32
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) })
	h2 := newTLSServer(t, h)
	h1 := newRecordingServer(t, false, nil)
	for _, srvURL := range []string{h2.URL, h1.URL} {
		c, err := client.New(opts(loopback(), client.WithOrigins(srvURL), client.WithTimeout(5*time.Second))...)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, set := range []func(r *http.Request){
			func(r *http.Request) { r.URL.RawQuery = "a=\x7f" },
			func(r *http.Request) { r.URL.RawQuery = "a=\x00b" },
			func(r *http.Request) { r.URL.Opaque = "/x\x01" },
			func(r *http.Request) { r.URL.Opaque = "/x\ty" },
		} {
			req, _ := http.NewRequest(http.MethodGet, srvURL+"/x", nil)
			set(req)
			resp, err := c.Do(req)
			if resp != nil {
				resp.Body.Close()
			}
			if !errors.Is(err, client.ErrInvalidRequest) {
				t.Errorf("%s %q %q: err = %v, want ErrInvalidRequest", srvURL[:5], req.URL.Opaque, req.URL.RawQuery, err)
			}
			if err != nil && strings.Contains(err.Error(), "\x7f") {
				t.Errorf("error quotes the raw query: %v", err)
			}
		}
		req, _ := http.NewRequest(http.MethodGet, srvURL+"/good", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("good call after the refused ones: %v", err)
		}
		resp.Body.Close()
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("HTTP/2 server got %d requests, want only the good one", n)
	}
	if n := len(h1.requests()); n != 1 {
		t.Errorf("HTTP/1.1 server got %d requests, want only the good one", n)
	}
}
