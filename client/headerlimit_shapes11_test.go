package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// An oversized response header fails the call once, with the transport's
// *ResponseTooLargeError, whatever its shape and protocol. Over HTTP/2 a
// single field longer than the advertised header list size is refused by
// net/http's HPACK decoder (its string length limit), which fails the
// whole connection with COMPRESSION_ERROR rather than with the header
// list error: that too is the oversized header, not an ambiguous failure
// to retry.
func TestClientOversizedHeaderShapes(t *testing.T) {
	big := func(w http.ResponseWriter) { w.Header().Set("X-Big", strings.Repeat("a", 2<<20)) }
	overBig := func(w http.ResponseWriter) { w.Header().Set("X-Big", strings.Repeat("a", 1<<20+10000)) }
	justOver := func(w http.ResponseWriter) {
		for range 1100 {
			w.Header().Add("X-Big", strings.Repeat("a", 1000))
		}
	}
	early := func(w http.ResponseWriter) {
		for range 1100 {
			w.Header().Add("X-Big", strings.Repeat("a", 1000))
		}
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("X-Big")
	}
	for _, tc := range []struct {
		name string
		h2   bool
		fill func(http.ResponseWriter)
	}{
		{"http1/one 2MiB field", false, big},
		{"http1/one field just over", false, overBig},
		{"http1/many fields just over", false, justOver},
		{"http1/103 over", false, early},
		{"http2/one 2MiB field", true, big},
		{"http2/one field just over", true, overBig},
		{"http2/many fields just over", true, justOver},
		{"http2/103 over", true, early},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			_, leaf := testPKI()
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				tc.fill(w)
				w.WriteHeader(http.StatusOK)
			}))
			srv.EnableHTTP2 = tc.h2
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
			srv.Config.ErrorLog = quietLog()
			srv.StartTLS()
			defer srv.Close()
			c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL))...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/", nil)
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("an oversized header was accepted")
			}
			var tl *transport.ResponseTooLargeError
			if !errors.As(err, &tl) || tl.Part != "header" || tl.Limit != transport.DefaultMaxResponseHeaderBytes {
				t.Errorf("err = %v, want the transport's *ResponseTooLargeError for the header", err)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("server called %d times, want 1 (no retry)", n)
			}
		})
	}
}
