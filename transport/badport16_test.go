package transport_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// TestBaseNonNumericPortNotRedialed: a hand-built URL.Host whose port is
// not a number ("api.example.test:44x", "bücher.example.test:44x",
// "[::1]:44x"; url.Parse refuses them) was dialed over HTTP/2 again and
// again until the request's context ended (forever without a deadline):
// net/http dials and pools the connection under the whole host with the
// scheme's port ("[api.example.test:44x]:443", url.URL.Hostname takes no
// such port) and its HTTP/2 transport looks it up under the host split at
// that colon ("api.example.test:44x", net.SplitHostPort). It is refused
// before anything is dialed (ErrInvalidRequest), as userinfo is; a host
// whose last colon is no port separator ("[fe80::1]", "fe80::1") is not.
func TestBaseNonNumericPortNotRedialed(t *testing.T) {
	w := newPKIWorld(t)
	srv := pkiServer(t, w.leaf.TLS, true, nil, nil)
	for _, host := range []string{"api.example.test:44x", "bücher.example.test:44x", "[::1]:44x", "api.example.test:8443x", "api.example.test: 1"} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var dials atomic.Int32
		dial := pkiDialTo(srv.Listener.Addr().String())
		b := pkiBase(t, transport.BaseConfig{TLSConfig: &tls.Config{ServerName: "api.example.test"}, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials.Add(1) > 2 {
				cancel()
			}
			return dial(ctx, network, addr)
		}}, srv, w.ca)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.test/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL = &url.URL{Scheme: "https", Host: host, Path: "/x"}
		resp, err := b.RoundTrip(req)
		cancel()
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, transport.ErrInvalidRequest) || dials.Load() != 0 {
			t.Errorf("%q: %v after %d dials; want ErrInvalidRequest and none", host, err, dials.Load())
		}
	}
	for _, host := range []string{"api.example.test:8443", "api.example.test:", "[::1]:443"} {
		req, err := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Host = host
		b := pkiBase(t, transport.BaseConfig{TLSConfig: &tls.Config{ServerName: "api.example.test"}}, srv, w.ca)
		resp, err := b.RoundTrip(req)
		if err != nil {
			t.Errorf("%q: %v", host, err)
			continue
		}
		resp.Body.Close()
	}
}
