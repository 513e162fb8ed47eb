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

// sliceReader is a reader of a value type that == cannot compare (a
// slice in it).
type sliceReader struct {
	r *strings.Reader
	_ []byte
}

func (s sliceReader) Read(p []byte) (int, error) { return s.r.Read(p) }

// ifaceBody is a request body of a struct type reflect calls comparable
// (an interface and a pointer), as io.NopCloser's is, whose interface
// holds a value of an uncomparable type: == on two of them panics at run
// time ("comparing uncomparable type").
type ifaceBody struct {
	io.Reader
	closes *atomic.Int32
}

func (b ifaceBody) Close() error { b.closes.Add(1); return nil }

// TestCallLayerBoundaryBaseBelowIfaceBody: 8d4ea21's Base compares a
// request body it sends outside an attempt with the call's when
// reflect.Type.Comparable says == cannot panic, but Comparable is true of
// a struct with an interface field whatever the interface holds: a body
// such as io.NopCloser(r), r of a value type with a slice in it, made the
// Base panic on a valid request of a stack built by hand (NewCallTrace,
// NewCallLayerBoundary, a caller's layer, the Base). It is sent, and
// closed once.
func TestCallLayerBoundaryBaseBelowIfaceBody(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(srv.Close)
	b, err := transport.NewBase(transport.BaseConfig{TLSConfig: &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.CloseIdleConnections)
	for name, body := range map[string]io.ReadCloser{
		"struct with an interface": ifaceBody{Reader: sliceReader{r: strings.NewReader("payload")}, closes: new(atomic.Int32)},
		"io.NopCloser":             io.NopCloser(sliceReader{r: strings.NewReader("payload")}),
	} {
		t.Run(name, func(t *testing.T) {
			rt := transport.NewCallTrace(transport.NewCallLayerBoundary(passOn(b)), transport.TraceConfig{})
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/x", body)
			var panicked any
			func() {
				defer func() { panicked = recover() }()
				resp, err := rt.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}()
			if panicked != nil {
				t.Fatalf("RoundTrip panicked: %v", panicked)
			}
			if ib, ok := body.(ifaceBody); ok {
				if n := ib.closes.Load(); n != 1 {
					t.Errorf("the request body was closed %d times, want once", n)
				}
			}
		})
	}
}
