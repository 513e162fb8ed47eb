package client_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// TestIDNUpperCaseHostOverHTTP2Completes: a call to
// "https://BÜCHER.example.test/x", allowed by the egress allowlist entry
// "bücher.example.test" (one host with it: the guard keys the host by its
// IDNA lookup form, "xn--bcher-kva.example.test"), never returned over
// HTTP/2: net/http dialed a new connection after another, since it pools
// the connection under the lookup form and its HTTP/2 transport looks it
// up under plain punycode ("xn--BCHER-2pa.example.test"). The call now
// completes over one connection.
func TestIDNUpperCaseHostOverHTTP2Completes(t *testing.T) {
	ca := pkiMustClient(testpki.NewCA("idn h2"))
	leaf := pkiMustClient(ca.Server("xn--bcher-kva.example.test"))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto+" "+r.Host)
	}))
	srv.EnableHTTP2 = true
	srv.TLS = testTLS(leaf)
	srv.Config.ErrorLog = quietLog()
	srv.StartTLS()
	t.Cleanup(srv.Close)

	// The call ends at the third dial (the deadline is only a backstop).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var dials atomic.Int32
	var d net.Dialer
	base, err := transport.NewBase(transport.BaseConfig{
		TLSConfig: &tls.Config{RootCAs: testpki.Pool(ca)},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			if dials.Add(1) > 2 {
				cancel()
			}
			return d.DialContext(ctx, network, srv.Listener.Addr().String())
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer base.CloseIdleConnections()
	c, err := client.New(client.WithBaseTransport(base), client.WithEgressAllowlist("bücher.example.test"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://BÜCHER.example.test/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("call: %v after %d dials", err, dials.Load())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := dials.Load(); n > 2 || string(body) != "HTTP/2.0 xn--bcher-kva.example.test" {
		t.Fatalf("%d dials, body %q; want at most 2, HTTP/2 with Host xn--bcher-kva.example.test", n, body)
	}
}

func pkiMustClient[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
