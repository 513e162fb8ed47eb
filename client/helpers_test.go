package client_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
)

// testPKI is one CA and one server certificate valid for 127.0.0.1, ::1
// and localhost, shared by the package's TLS test servers.
var testPKI = sync.OnceValues(func() (*testpki.CA, *testpki.Leaf) {
	ca, err := testpki.NewCA("client tests")
	if err != nil {
		panic(err)
	}
	leaf, err := ca.Server("localhost", "127.0.0.1", "::1")
	if err != nil {
		panic(err)
	}
	return ca, leaf
})

// newTLSServer starts an HTTPS test server (HTTP/1.1 and HTTP/2) with the
// shared test certificate.
func newTLSServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	_, leaf := testPKI()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	srv.Config.ErrorLog = quietLog()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// loopback returns the options a client needs to talk to the package's TLS
// test servers: trust in the test CA, and permission for the SSRF-safe
// dialer to reach loopback under the name "localhost".
func loopback() []client.Option {
	ca, _ := testPKI()
	return []client.Option{
		client.WithTLSConfig(&tls.Config{RootCAs: testpki.Pool(ca)}),
		client.WithAllowedNetworks(netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")),
	}
}

func opts(base []client.Option, more ...client.Option) []client.Option {
	return append(append([]client.Option(nil), base...), more...)
}

func testTLS(leaf *testpki.Leaf) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
}

func testpkiTrust(ca *testpki.CA) *tls.Config {
	return &tls.Config{RootCAs: testpki.Pool(ca)}
}
