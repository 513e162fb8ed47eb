package transport_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// closeOnceBody is a request body that fails the test when it is closed
// a second time (io.Closer leaves that undefined: a pooled buffer handed
// back twice, a file descriptor number reused by then).
type closeOnceBody struct {
	t      *testing.T
	r      io.Reader
	closes atomic.Int32
}

func newCloseOnceBody(t *testing.T) *closeOnceBody {
	return &closeOnceBody{t: t, r: strings.NewReader("payload")}
}

func (b *closeOnceBody) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *closeOnceBody) Close() error {
	if b.closes.Add(1) > 1 {
		b.t.Errorf("the request body was closed %d times", b.closes.Load())
	}
	return nil
}

// panicAfter is a caller's call layer with a bug: it hands the request on,
// then panics, whatever came back.
func panicAfter(next http.RoundTripper) http.RoundTripper {
	return transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		panic("call layer bug")
	})
}

// panicBefore is a caller's call layer with a bug: it panics before
// handing the request on.
func panicBefore(http.RoundTripper) http.RoundTripper {
	return transporttest.RoundTripperFunc(func(*http.Request) (*http.Response, error) {
		panic("call layer bug")
	})
}

// passOn is a caller's call layer that hands the request on unchanged.
func passOn(next http.RoundTripper) http.RoundTripper {
	return transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		return next.RoundTrip(req)
	})
}

// TestCallLayerBoundaryClosesBodyOnce: NewCallLayerBoundary closed the
// request's body whenever a layer below it panicked, though the body had
// often been closed already: by the base transport that sent it (a
// caller's layer panicking once the response came back), by a layer of
// this package refusing it (an egress denial the caller's layer then
// panicked on), or by a layer's guard around a caller's component that
// panicked (a token Source): a second Close of the caller's body, which
// io.Closer leaves undefined. The body is now closed exactly once on each
// path, by the boundary only when nothing below took it (a caller's layer
// that panics before handing it on), and the panic goes on.
func TestCallLayerBoundaryClosesBodyOnce(t *testing.T) {
	scope := mustOrigins(t, "https://api.example.test")
	ok := func() http.RoundTripper { return transporttest.NewResponder(transporttest.Respond(200, "ok")) }
	must := func(rt http.RoundTripper, err error) http.RoundTripper {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	for _, tc := range []struct {
		name  string
		inner func() http.RoundTripper // below the boundary
		want  any
	}{
		{"call layer panics before handing on", func() http.RoundTripper {
			return panicBefore(must(transport.NewRetry(ok(), transport.RetryConfig{})))
		}, "call layer bug"},
		{"call layer panics after the send", func() http.RoundTripper {
			return panicAfter(must(transport.NewRetry(ok(), transport.RetryConfig{})))
		}, "call layer bug"},
		{"call layer panics after the send, attempt scope", func() http.RoundTripper {
			return panicAfter(transport.NewAttemptScope(ok()))
		}, "call layer bug"},
		{"call layer panics after an egress denial", func() http.RoundTripper {
			return panicAfter(must(transport.NewEgress(ok(), transport.EgressConfig{Allow: []string{"other.example.test"}})))
		}, "call layer bug"},
		{"token source panics below the call layer", func() http.RoundTripper {
			auth := must(transport.NewAuth(ok(), transport.AuthConfig{Source: panickySource{}, Scope: scope}))
			return passOn(must(transport.NewRetry(auth, transport.RetryConfig{})))
		}, "source bug"},
		{"cooldown store panics below the call layer", func() http.RoundTripper {
			return passOn(must(transport.NewRetry(ok(), transport.RetryConfig{Cooldowns: panickyCooldowns{}})))
		}, "store bug"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := transport.NewCallTrace(transport.NewCallLayerBoundary(tc.inner()), transport.TraceConfig{})
			body := newCloseOnceBody(t)
			req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/x", body)
			var panicked any
			func() {
				defer func() { panicked = recover() }()
				resp, err := rt.RoundTrip(req)
				if err == nil {
					resp.Body.Close()
				}
			}()
			if panicked != tc.want {
				t.Fatalf("panic %v reached the caller, want %v", panicked, tc.want)
			}
			if n := body.closes.Load(); n != 1 {
				t.Errorf("the request body was closed %d times, want once", n)
			}
		})
	}
}
