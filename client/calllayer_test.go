package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A WithCallLayer layer may send its request twice, in sequence or
// concurrently (a call-level hedge): the layers below it must not change
// that request (in place) nor share per-call state between the sends.
func TestCallLayerMaySendTwice(t *testing.T) {
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	for _, mode := range []string{"sequential", "concurrent"} {
		t.Run(mode, func(t *testing.T) {
			var ctxChanged bool
			layer := func(next http.RoundTripper) (http.RoundTripper, error) {
				return transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
					before := req.Context()
					send := func() error {
						resp, err := next.RoundTrip(req)
						if err != nil {
							return err
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						return resp.Body.Close()
					}
					if mode == "sequential" {
						if err := send(); err != nil {
							return nil, err
						}
						ctxChanged = req.Context() != before
						return next.RoundTrip(req)
					}
					var wg sync.WaitGroup
					errs := make([]error, 2)
					for i := range errs {
						wg.Go(func() { errs[i] = send() })
					}
					wg.Wait()
					if err := errors.Join(errs...); err != nil {
						return nil, err
					}
					ctxChanged = req.Context() != before
					return next.RoundTrip(req)
				}), nil
			}
			// No attempt timeout: the total deadline is then the only
			// context the inner layers would have put on the request.
			c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), client.WithCallLayer(layer), client.WithAttemptTimeout(0))...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/x", nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("a call layer's second send failed: %v", err)
			}
			resp.Body.Close()
			if ctxChanged {
				t.Error("an inner layer replaced the call layer's request context in place")
			}
		})
	}
}

// The boundary is a no-op for a request that is not a call's own copy.
func TestCallLayerBoundaryStandalone(t *testing.T) {
	next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
	resp, err := transport.NewCallLayerBoundary(next).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(next.Requests()) != 1 {
		t.Fatal("not passed on")
	}
}

// A WithCallLayer layer that breaks the http.RoundTripper contract does not
// bring the client down: neither a response nor an error is an error; both
// closes the response's body and returns the error; a response without a
// body gets an empty one.
func TestCallLayerBrokenContract(t *testing.T) {
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	errLayer := errors.New("layer failed")
	var closed bool
	for _, tc := range []struct {
		name   string
		answer func(next http.RoundTripper, req *http.Request) (*http.Response, error)
		check  func(t *testing.T, resp *http.Response, err error)
	}{
		{"neither", func(http.RoundTripper, *http.Request) (*http.Response, error) { return nil, nil },
			func(t *testing.T, resp *http.Response, err error) {
				if err == nil || resp != nil {
					t.Fatalf("got %v, %v; want an error and no response", resp, err)
				}
			}},
		{"both", func(next http.RoundTripper, req *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(req)
			if err != nil {
				return nil, err
			}
			resp.Body = &closeTracker{ReadCloser: resp.Body, closed: &closed}
			return resp, errLayer
		},
			func(t *testing.T, resp *http.Response, err error) {
				if !errors.Is(err, errLayer) || resp != nil {
					t.Fatalf("got %v, %v; want the layer's error and no response", resp, err)
				}
				if !closed {
					t.Fatal("the response returned with the error was not closed")
				}
			}},
		{"no body", func(next http.RoundTripper, req *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(req)
			if err != nil {
				return nil, err
			}
			resp.Body.Close()
			resp.Body = nil
			return resp, nil
		},
			func(t *testing.T, resp *http.Response, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if resp.Body == nil {
					t.Fatal("nil response body")
				}
				resp.Body.Close()
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := getThroughCallLayer(t, srv.URL, func(next http.RoundTripper, req *http.Request) (*http.Response, error) {
				return tc.answer(next, req)
			})
			tc.check(t, resp, err)
		})
	}
}

// closeTracker records that its body was closed.
type closeTracker struct {
	io.ReadCloser
	closed *bool
}

func (c *closeTracker) Close() error { *c.closed = true; return c.ReadCloser.Close() }

// A WithCallLayer layer that sends its request somewhere else than it was
// given is held to the egress allowlist too: it sits below the egress
// check, so the allowlist is checked again below it, before anything is
// dialed.
func TestCallLayerCannotLeaveTheAllowlist(t *testing.T) {
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	resp, err := getThroughCallLayer(t, srv.URL, func(next http.RoundTripper, req *http.Request) (*http.Response, error) {
		r := req.Clone(req.Context())
		r.URL.Host = "elsewhere.example.test"
		r.Host = ""
		return next.RoundTrip(r)
	})
	if err == nil {
		resp.Body.Close()
		t.Fatal("the call layer reached a host outside the allowlist")
	}
	if !errors.Is(err, transport.ErrEgressDenied) {
		t.Fatalf("err = %v; want ErrEgressDenied", err)
	}
}

// getThroughCallLayer sends a GET to origin+"/x" through a client bound to
// origin with one WithCallLayer layer that answers with answer.
func getThroughCallLayer(t *testing.T, origin string, answer func(next http.RoundTripper, req *http.Request) (*http.Response, error)) (*http.Response, error) {
	t.Helper()
	layer := func(next http.RoundTripper) (http.RoundTripper, error) {
		return transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) { return answer(next, req) }), nil
	}
	c, err := client.New(opts(loopback(), client.WithOrigins(origin), client.WithCallLayer(layer))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req, _ := http.NewRequest(http.MethodGet, origin+"/x", nil)
	return c.Do(req)
}
