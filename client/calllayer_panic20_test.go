package client_test

import (
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport/transporttest"
)

// A WithCallLayer layer that panicked (a bug in it) before handing the
// request on left the caller's request body unclosed, which the
// http.RoundTripper contract has RoundTrip close on every path: a caller
// that recovers the panic (net/http's server recovers a handler's) with
// an io.Pipe as the body had its writer blocked for ever, and a file
// body leaked its descriptor. The body is closed, and the panic goes on
// to the caller unchanged.
func TestCallLayerPanicClosesRequestBody(t *testing.T) {
	var served atomic.Int32
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) }))
	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL),
		client.WithCallLayer(func(next http.RoundTripper) (http.RoundTripper, error) {
			return transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				panic("call layer bug")
			}), nil
		}))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, via := range []string{"Do", "Transport"} {
		t.Run(via, func(t *testing.T) {
			body := transporttest.NewTrackedBody([]byte("payload"))
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/p", body)
			var panicked any
			func() {
				defer func() { panicked = recover() }()
				var resp *http.Response
				var err error
				if via == "Do" {
					resp, err = c.Do(req)
				} else {
					resp, err = c.Transport().RoundTrip(req)
				}
				if err == nil {
					resp.Body.Close()
				}
			}()
			if panicked != "call layer bug" {
				t.Fatalf("panic %v reached the caller, want the layer's", panicked)
			}
			if !body.Closed() {
				t.Fatal("the request body was left unclosed by a call layer's panic")
			}
		})
	}
	if served.Load() != 0 {
		t.Fatalf("server saw %d requests, want 0", served.Load())
	}
}
