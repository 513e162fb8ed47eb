package client_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// TestLiteralOriginNotReachedByName: the client lets its SSRF-safe dialer
// connect to the address of an IP-literal origin ("https://127.0.0.1:port",
// an internal API named by address) without WithAllowedNetworks, since the
// caller named it. Until session 23 any name on the allowlist whose DNS
// answered that address (here "localhost", answered from /etc/hosts;
// elsewhere a rebinding attacker's) got a connection to it too; the
// address is now dialed only for a request naming the literal.
func TestLiteralOriginNotReachedByName(t *testing.T) {
	var hits atomic.Int64
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "internal")
	}))
	u, _ := url.Parse(srv.URL) // https://127.0.0.1:port
	ca, _ := testPKI()
	c, err := client.New(
		client.WithTLSConfig(&tls.Config{RootCAs: testpki.Pool(ca)}),
		client.WithOrigins(srv.URL),
		client.WithEgressAllowlist("localhost:"+u.Port()),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.HTTPClient().Get(srv.URL + "/")
	if err != nil {
		t.Fatalf("the literal origin: %v", err)
	}
	resp.Body.Close()
	resp, err = c.HTTPClient().Get("https://localhost:" + u.Port() + "/")
	if err == nil {
		resp.Body.Close()
	}
	if !errors.Is(err, transport.ErrEgressDenied) {
		t.Fatalf("a name resolving to the literal origin's address: err = %v, want ErrEgressDenied", err)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("server served %d requests, want 1 (the literal's)", n)
	}
}
