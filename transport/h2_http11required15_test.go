package transport_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/securecall/securecall/transport"
)

// A server that requires HTTP/1.1 (RFC 9113 §7 HTTP_1_1_REQUIRED: "the
// endpoint requires that HTTP/1.1 be used instead of HTTP/2", a server
// that needs TLS renegotiation or connection-based authentication for the
// resource) answers every HTTP/2 attempt the same way, with a stream
// reset for the request, or with a GOAWAY for the whole connection before
// its first stream was processed (which net/http fails the stream with,
// "http2: Transport received GOAWAY from server ErrCode:HTTP_1_1_REQUIRED",
// rather than retry it itself): the error is permanent, not retried over
// HTTP/2 again, and no fault of the host (it answered deliberately), so
// not a breaker failure.
func TestH2HTTP11RequiredIsPermanent(t *testing.T) {
	for name, refuse := range map[string]func(fr *http2.Framer, id uint32, c net.Conn){
		"stream reset": func(fr *http2.Framer, id uint32, _ net.Conn) {
			_ = fr.WriteRSTStream(id, http2.ErrCodeHTTP11Required)
		},
		"GOAWAY": func(fr *http2.Framer, _ uint32, c net.Conn) {
			_ = fr.WriteGoAway(0, http2.ErrCodeHTTP11Required, nil)
			c.Close()
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv, raw := newRawH2Server(t, refuse)
			b, err := transport.NewBase(transport.BaseConfig{TLSConfig: &tls.Config{RootCAs: raw.TLSClientConfig.RootCAs}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.CloseIdleConnections)
			rt := newRetry(t, b, transport.RetryConfig{Backoff: resFixedBackoff(time.Millisecond), Budget: transport.BudgetConfig{Disabled: true}})
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.url+"/", nil)
			resp, err := rt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("a refusal with HTTP_1_1_REQUIRED succeeded")
			}
			if !strings.Contains(err.Error(), "HTTP_1_1_REQUIRED") {
				t.Fatalf("err %v does not name HTTP_1_1_REQUIRED", err)
			}
			if n := srv.streams.Load(); n != 1 {
				t.Errorf("%d streams, want 1 (no retry over HTTP/2)", n)
			}
			v := transport.Classify(context.Background(), nil, err, time.Now())
			if v.Class != transport.ClassPermanent || v.Breaker != transport.BreakerExcluded {
				t.Errorf("Classify = %v/%v, want ClassPermanent/BreakerExcluded", v.Class, v.Breaker)
			}
		})
	}
}
