package transport_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/transport"
)

// A stack built by hand with a caller's layer right above the Base
// (NewCallTrace, NewCallLayerBoundary, the caller's layer, the Base: no
// retry or attempt scope between) had the request body closed twice when
// that layer panicked once the response came back: the Base had sent the
// body (net/http closes it), but no layer of this package marked it taken,
// so the boundary closed it again, which io.Closer leaves undefined. The
// Base now marks the call's body taken when it sends it outside an
// attempt: closed once, and the panic goes on.
func TestCallLayerBoundaryBaseBelowClosesBodyOnce(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(srv.Close)
	b, err := transport.NewBase(transport.BaseConfig{TLSConfig: &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.CloseIdleConnections)
	for _, tc := range []struct {
		name  string
		layer func(http.RoundTripper) http.RoundTripper
	}{
		{"panics after the send", panicAfter},
		{"panics before handing on", panicBefore},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := transport.NewCallTrace(transport.NewCallLayerBoundary(tc.layer(b)), transport.TraceConfig{})
			body := newCloseOnceBody(t)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/x", body)
			var panicked any
			func() {
				defer func() { panicked = recover() }()
				resp, err := rt.RoundTrip(req)
				if err == nil {
					resp.Body.Close()
				}
			}()
			if panicked != "call layer bug" {
				t.Fatalf("panic %v reached the caller, want the layer's", panicked)
			}
			if n := body.closes.Load(); n != 1 {
				t.Errorf("the request body was closed %d times, want once", n)
			}
		})
	}
}

// valueBody is a request body of a value type that == cannot compare (a
// slice in it): the Base's check of whether it is the call's must not
// panic on it.
type valueBody struct {
	r      *strings.Reader
	closes *atomic.Int32
	_      []byte
}

func (b valueBody) Read(p []byte) (int, error) { return b.r.Read(p) }
func (b valueBody) Close() error               { b.closes.Add(1); return nil }

func TestCallLayerBoundaryBaseBelowUncomparableBody(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(srv.Close)
	b, err := transport.NewBase(transport.BaseConfig{TLSConfig: &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.CloseIdleConnections)
	rt := transport.NewCallTrace(transport.NewCallLayerBoundary(passOn(b)), transport.TraceConfig{})
	body := valueBody{r: strings.NewReader("payload"), closes: new(atomic.Int32)}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/x", body)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := body.closes.Load(); n != 1 {
		t.Errorf("the request body was closed %d times, want once", n)
	}
}
