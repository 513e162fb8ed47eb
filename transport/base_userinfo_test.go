package transport_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/transport"
)

// countingBody records how many times it was closed.
type countingBody struct {
	strings.Reader
	closed atomic.Int32
}

func (b *countingBody) Close() error { b.closed.Add(1); return nil }

// TestBaseRefusesUserinfoInHost: a hand-built URL.Host holding userinfo is
// refused before anything is dialed, as the caller's malformed request,
// without quoting the host, and the body is closed.
func TestBaseRefusesUserinfoInHost(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	base, err := transport.NewBase(transport.BaseConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.CloseIdleConnections()
	u, _ := url.Parse(srv.URL + "/x")
	for _, host := range []string{"user:s3cr3t@" + u.Host, "s3cr3t@" + u.Host} {
		body := &countingBody{Reader: *strings.NewReader("payload")}
		req := &http.Request{Method: http.MethodPost, URL: &url.URL{Scheme: "http", Host: host, Path: "/x"}, Header: http.Header{}, Body: body, ContentLength: 7}
		resp, err := base.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
			t.Fatalf("%s: got a response", host)
		}
		if !errors.Is(err, transport.ErrInvalidRequest) {
			t.Fatalf("%s: err = %v, want ErrInvalidRequest", host, err)
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Fatalf("error quotes the password: %v", err)
		}
		if body.closed.Load() != 1 {
			t.Fatalf("%s: body closed %d times, want 1", host, body.closed.Load())
		}
		if transport.ErrorType(err) != "invalid_request" {
			t.Fatalf("error.type = %q, want invalid_request", transport.ErrorType(err))
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("server saw %d requests, want 0", n)
	}
}
