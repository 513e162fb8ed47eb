package transport_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/transport"
)

// limitsServer starts srv over HTTP/1.1, or HTTP/2 over TLS, and returns
// a transport to it and the count of connections the server accepted.
func limitsServer(t *testing.T, h2 bool, h http.HandlerFunc) (*httptest.Server, *http.Transport, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	base := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: h2}
	if h2 {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	t.Cleanup(base.CloseIdleConnections)
	return srv, base, &conns
}

// A redirect http.Client follows is never read by the caller: the client
// discards its body (closed unread past 2 KiB). Its declared length must
// not fail the call as a body over MaxBodyBytes, any more than its media
// type is checked; the body of the answer it leads to is bounded as any.
// A redirect the caller receives (CheckRedirect returning
// http.ErrUseLastResponse) still yields at most the limit, then the error.
func TestLimitsFollowedRedirectDeclaredOverLimit(t *testing.T) {
	const limit = 1000
	for _, h2 := range []bool{false, true} {
		t.Run("h2="+strconv.FormatBool(h2), func(t *testing.T) {
			srv, base, _ := limitsServer(t, h2, func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/final":
					io.WriteString(w, "ok")
				case "/big":
					w.Write(make([]byte, 2*limit))
				default:
					w.Header().Set("Location", r.URL.Path[len("/redirect"):])
					w.Header().Set("Content-Length", strconv.Itoa(4*limit))
					w.WriteHeader(http.StatusFound)
					w.Write(bytes.Repeat([]byte("<"), 4*limit))
				}
			})
			rt, err := transport.NewLimits(base, transport.LimitsConfig{MaxBodyBytes: limit})
			if err != nil {
				t.Fatal(err)
			}
			hc := &http.Client{Transport: rt}
			resp, err := hc.Get(srv.URL + "/redirect/final")
			if err != nil {
				t.Fatalf("followed redirect with a %d-byte body: %v, want the final answer", 4*limit, err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(b) != "ok" || resp.StatusCode != 200 {
				t.Fatalf("final answer: %d %q %v, want 200 ok", resp.StatusCode, b, err)
			}
			// The answer a redirect leads to is bounded.
			resp, err = hc.Get(srv.URL + "/redirect/big")
			var te *transport.ResponseTooLargeError
			if err == nil {
				resp.Body.Close()
			}
			if !errors.As(err, &te) || te.Size != 2*limit {
				t.Fatalf("answer after the redirect: %v, want a *ResponseTooLargeError of its %d declared bytes", err, 2*limit)
			}
			// The redirect handed to the caller is bounded.
			hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err = hc.Get(srv.URL + "/redirect/final")
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound || n != limit || !errors.As(err, &te) || te.Limit != limit {
				t.Fatalf("redirect returned to the caller: status %d, read %d, %v; want 302, %d and a *ResponseTooLargeError", resp.StatusCode, n, err, limit)
			}
		})
	}
}
