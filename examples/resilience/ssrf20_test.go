package main

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
)

// The example's clients allowed the SSRF-safe dialer the whole of
// 127.0.0.0/8 (WithAllowedNetworks), saying the dialer would refuse the
// upstream otherwise, which it does not: an IP-literal origin's address
// is allowed as it is. A reader copying the example loosened the check
// for every loopback address: a name resolving to another one
// ("localhost", or a rebinding attacker's name) was then dialed. The
// lab's client now adds nothing to its origin: its upstream (here on
// 127.0.0.2) is reached, and a name on its allowlist resolving to
// 127.0.0.1, where an internal service listens, is refused at connect
// time, no request served.
func TestLabClientDialsOnlyItsOrigin(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 on this machine: %v", err)
	}
	ca, err := testpki.NewCA("resilience ssrf test")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Server("127.0.0.2", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	l := &lab{ca: ca, leaf: leaf}
	upstream := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	upstream.Listener.Close()
	upstream.Listener = ln
	upstream.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	upstream.StartTLS()
	defer upstream.Close()
	var served atomic.Int32
	internal := l.upstream(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) }))
	defer internal.Close()
	_, port, _ := net.SplitHostPort(internal.Listener.Addr().String())

	c, err := l.client(upstream, client.WithEgressAllowlist("localhost:"+port), client.WithMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r := call(context.Background(), c, http.MethodGet, upstream.URL+"/", ""); r.err != nil {
		t.Fatalf("the upstream, by its origin: %v", r.err)
	}
	r := call(context.Background(), c, http.MethodGet, "https://localhost:"+port+"/", "")
	if !errors.Is(r.err, client.ErrEgressDenied) {
		t.Errorf("a name resolving to loopback: %v, want ErrEgressDenied from the SSRF-safe dialer", r)
	}
	if n := served.Load(); n != 0 {
		t.Errorf("%d requests reached the internal service by name, want 0", n)
	}
}
