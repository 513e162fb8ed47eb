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

// TestInvalidHostIsRefused: a request whose Host (hand-set, or its URL's
// host when Host is empty) is no valid Host field value ("127.0.0.1:8443@x",
// a space, a '/') reached the stack: over HTTP/2 net/http refused it
// ("invalid Host header") only at the send, an unknown error retried and
// counted against the host's breaker; over HTTP/1.1 it silently sent an
// empty Host instead, so the server got another request than the one
// signed and audited. It is refused before the stack as ErrInvalidRequest,
// without quoting the Host, and nothing reaches the server; a good call to
// the host still goes through.
func TestInvalidHostIsRefused(t *testing.T) {
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
		_, authority, _ := strings.Cut(srvURL, "://")
		for _, host := range []string{authority + "@evil", authority + "/x", "local host"} {
			req, _ := http.NewRequest(http.MethodGet, srvURL+"/x", nil)
			req.Host = host
			resp, err := c.Do(req)
			if resp != nil {
				resp.Body.Close()
			}
			if !errors.Is(err, client.ErrInvalidRequest) {
				t.Errorf("%s Host %q: err = %v, want ErrInvalidRequest", srvURL[:5], host, err)
			}
			if err != nil && strings.Contains(err.Error(), "evil") {
				t.Errorf("error quotes the Host: %v", err)
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

// TestValidHostNonASCII: a Host with a non-ASCII name is sent by net/http
// in punycode, so it is no invalid request; one that stays invalid in
// punycode is.
func TestValidHostNonASCII(t *testing.T) {
	for _, tc := range []struct {
		host string
		want bool
	}{
		{"bücher.example:8443", true},
		{"bücher.example", true},
		{"[::1]:443", true},
		{"[fe80::1%eth0]:443", true},
		{"bücher example", false},
		{"a@b.example", false},
		{"", true},
	} {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/x", nil)
		req.Host = tc.host
		err := client.CheckRequestForTest(req)
		if got := err == nil; got != tc.want {
			t.Errorf("Host %q: err %v, want valid %v", tc.host, err, tc.want)
		}
	}
}
