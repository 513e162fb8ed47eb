package client_test

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
)

// A request trailer declaring a field RFC 9110 §6.5.1 keeps out of
// trailers (Authorization, Host, Content-Type, Cache-Control, Expect...)
// went out: Go's HTTP/2 server resets the stream with PROTOCOL_ERROR for
// it after its handler has run, and net/http's HTTP/2 transport answers
// that by sending the request again (golang/go#47635), so a POST with
// such a trailer was processed three to five times. client.Do refuses
// such a trailer now with ErrInvalidRequest before anything is sent; an
// ordinary trailer field is sent once.
func TestTrailerFieldNotAllowedRefused(t *testing.T) {
	var got atomic.Int32
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
	}))
	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	post := func(key string) error {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/v1", strings.NewReader("x"))
		req.Trailer = http.Header{key: {"v"}}
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	for _, key := range []string{"Authorization", "authorization", "Host", "Content-Type", "Cache-Control", "Expect", "Connection", "Www-Authenticate"} {
		if err := post(key); !errors.Is(err, client.ErrInvalidRequest) {
			t.Errorf("trailer %q: err %v, want ErrInvalidRequest", key, err)
		}
	}
	if n := got.Load(); n != 0 {
		t.Fatalf("the server got %d requests, want none", n)
	}
	if err := post("X-Checksum"); err != nil {
		t.Fatal(err)
	}
	if n := got.Load(); n != 1 {
		t.Fatalf("the server got %d requests for one POST with an ordinary trailer, want 1", n)
	}
}
