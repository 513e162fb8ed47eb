package client_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
)

// A zero client.Client (not made by New) has no stack. Its Transport()
// was nil, which an http.Client reads as http.DefaultTransport: a request
// sent through it went out with no egress guard, no SSRF-safe dialer, no
// pinning and no response limits, silently. Do, HTTPClient() and
// CheckRedirect() dereferenced nil pointers. docs/errors.md says the
// methods of a zero value return a *ConfigError instead of panicking;
// they now do, and nothing reaches the server.
func TestZeroClientRefusesEveryCall(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()

	var c client.Client
	wantZero := func(what string, err error) {
		t.Helper()
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != "Client" || !strings.Contains(ce.Reason, "New") {
			t.Errorf("%s: %v, want a *ConfigError naming Client, saying it was not made by New", what, err)
		}
	}
	call := func(what string, f func() (*http.Response, error)) {
		t.Helper()
		var resp *http.Response
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					err = errors.New("panic: " + strings.TrimSpace(strings.SplitN(toString(r), "\n", 2)[0]))
				}
			}()
			resp, err = f()
		}()
		if resp != nil {
			resp.Body.Close()
			t.Errorf("%s: got a response (status %d)", what, resp.StatusCode)
		}
		wantZero(what, err)
	}

	body := &bodyCloseCount{}
	call("Do", func() (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, body)
		return c.Do(req)
	})
	if body.closed.Load() != 1 {
		t.Errorf("Do closed the request body %d times, want 1", body.closed.Load())
	}
	call("Transport().RoundTrip", func() (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		return c.Transport().RoundTrip(req)
	})
	call("http.Client{Transport: Transport()}", func() (*http.Response, error) {
		return (&http.Client{Transport: c.Transport()}).Get(srv.URL)
	})
	call("HTTPClient()", func() (*http.Response, error) { return c.HTTPClient().Get(srv.URL) })
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("CheckRedirect panicked: %v", r)
			}
		}()
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		wantZero("CheckRedirect", c.CheckRedirect()(req, []*http.Request{req}))
	}()
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server got %d requests from a zero Client, want none", n)
	}
}

type bodyCloseCount struct{ closed atomic.Int32 }

func (b *bodyCloseCount) Read([]byte) (int, error) { return 0, errors.New("read") }
func (b *bodyCloseCount) Close() error             { b.closed.Add(1); return nil }

func toString(v any) string {
	if e, ok := v.(error); ok {
		return e.Error()
	}
	if s, ok := v.(string); ok {
		return s
	}
	return "non-string panic"
}
