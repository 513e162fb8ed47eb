package client_test

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
)

// A Proxy-Authorization header the caller set on an https request went to
// the origin server: net/http authenticates to a proxy's tunnel (CONNECT)
// with the proxy URL's userinfo only, and sends the request's own header
// fields, this one included, inside the tunnel, over HTTP/1.1 and HTTP/2
// alike; without a proxy, straight to the origin. The proxy's credential
// reached a server it was never meant for. client.Do refuses such a
// request now with ErrInvalidRequest, before anything is sent, the value
// never quoted; the header key in any case, and as a trailer too.
func TestProxyAuthorizationToOriginRefused(t *testing.T) {
	const secret = "Basic cHJveHl1c2VyOnByb3h5cGFzcw=="
	var got atomic.Int32
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		if r.Header.Get("Proxy-Authorization") != "" {
			t.Errorf("the origin got Proxy-Authorization over %s", r.Proto)
		}
	}))
	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		name string
		set  func(r *http.Request)
	}{
		{"header", func(r *http.Request) { r.Header.Set("Proxy-Authorization", secret) }},
		{"non-canonical key", func(r *http.Request) { r.Header["proxy-authorization"] = []string{secret} }},
		{"trailer", func(r *http.Request) {
			r.Trailer = http.Header{"Proxy-Authorization": {secret}}
		}},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/v1", strings.NewReader("x"))
		tc.set(req)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, client.ErrInvalidRequest) {
			t.Errorf("%s: err %v, want ErrInvalidRequest", tc.name, err)
			continue
		}
		if strings.Contains(err.Error(), "cHJveHl1c2Vy") {
			t.Errorf("%s: the error quotes the credential: %v", tc.name, err)
		}
		if !strings.Contains(err.Error(), "Proxy-Authorization") {
			t.Errorf("%s: the error does not name the field: %v", tc.name, err)
		}
	}
	if n := got.Load(); n != 0 {
		t.Errorf("the origin got %d requests, want none", n)
	}
	// Other requests go on.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v1", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got.Load() != 1 {
		t.Fatalf("the origin got %d requests, want 1", got.Load())
	}
}
