package transport

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// The transports of zoned IPv6 hosts (see zonedTransport): one per zoned
// host, its ServerName the address without zone, its sessions kept apart
// per zone; at most maxZonedTransports, the oldest dropped; rebuilt after
// a client certificate rotation (the old one retired); none for a host
// without zone, with a TLSConfig.ServerName, or through a proxy.
func TestZonedTransportPerHost(t *testing.T) {
	req := func(host string) *http.Request {
		return &http.Request{Method: "GET", URL: &url.URL{Scheme: "https", Host: host, Path: "/"}, Header: http.Header{}}
	}
	b, err := NewBase(BaseConfig{TLSConfig: &tls.Config{ClientSessionCache: tls.NewLRUClientSessionCache(8)}})
	if err != nil {
		t.Fatal(err)
	}
	main := b.t.Load()
	for _, h := range []string{"[fe80::1]:8443", "api.example.test", "[fe80::1%25eth0]:x"} {
		if got := b.zonedTransport(main, req(h)); got != main {
			t.Errorf("%s: a transport of its own, want the Base's", h)
		}
	}
	plain := req("[fe80::1%eth0]:8080")
	plain.URL.Scheme = "http"
	if got := b.zonedTransport(main, plain); got != main {
		t.Error("http://[fe80::1%25eth0]:8080/: a transport of its own, want the Base's")
	}
	eth0 := b.zonedTransport(main, req("[fe80::1%eth0]:8443"))
	if eth0 == main || eth0.TLSClientConfig.ServerName != "fe80::1" {
		t.Fatalf("fe80::1%%eth0: ServerName %q, want a transport of its own with fe80::1", eth0.TLSClientConfig.ServerName)
	}
	if again := b.zonedTransport(main, req("[fe80::1%eth0]")); again != eth0 {
		t.Fatal("fe80::1 on eth0 again (another port): another transport")
	}
	eth1 := b.zonedTransport(main, req("[fe80::1%eth1]:8443"))
	if eth1 == eth0 || eth1.TLSClientConfig.ServerName != "fe80::1" {
		t.Fatal("fe80::1 on eth1: the transport of eth0, or another ServerName")
	}
	// Sessions apart: one put through eth0's cache is not found by eth1's.
	eth0.TLSClientConfig.ClientSessionCache.Put("fe80::1", &tls.ClientSessionState{})
	if _, ok := eth1.TLSClientConfig.ClientSessionCache.Get("fe80::1"); ok {
		t.Fatal("a session of fe80::1 on eth0 is offered to fe80::1 on eth1")
	}
	if _, ok := eth0.TLSClientConfig.ClientSessionCache.Get("fe80::1"); !ok {
		t.Fatal("a session of fe80::1 on eth0 is not found again")
	}
	for i := range maxZonedTransports {
		b.zonedTransport(main, req(fmt.Sprintf("[fe80::%x%%eth2]", i+2)))
	}
	b.mu.Lock()
	n := len(b.zoned)
	_, kept0 := b.zoned["fe80::1%eth0"]
	b.mu.Unlock()
	if n != maxZonedTransports || kept0 {
		t.Fatalf("after %d more zoned hosts: %d transports, eth0's kept %v; want %d, the oldest dropped", maxZonedTransports, n, kept0, maxZonedTransports)
	}

	// A client certificate rotation (a new generation) makes a new one.
	last := b.zonedTransport(main, req("[fe80::2%eth2]"))
	if got := b.zonedTransport(main, req("[fe80::2%eth2]")); got != last {
		t.Fatal("the same host twice: two transports")
	}
	b.ccGen.Add(1)
	if got := b.zonedTransport(main, req("[fe80::2%eth2]")); got == last {
		t.Fatal("after a rotation: the transport made for the previous certificate")
	}
	b.mu.Lock()
	retired := len(b.retired)
	b.mu.Unlock()
	if retired != 1 {
		t.Fatalf("after a rotation: %d retired transports, want 1 (the zoned host's old one)", retired)
	}

	for what, cfg := range map[string]BaseConfig{
		"ServerName": {TLSConfig: &tls.Config{ServerName: "fe80::1"}},
		"proxy":      {Proxy: func(*http.Request) (*url.URL, error) { return url.Parse("http://proxy.example.test:3128") }},
	} {
		b, err := NewBase(cfg)
		if err != nil {
			t.Fatal(err)
		}
		main := b.t.Load()
		if b.zoneName && what == "ServerName" {
			t.Errorf("%s: zoned hosts get transports of their own", what)
		}
		if what == "proxy" && b.zonedTransport(main, req("[fe80::1%eth0]:8443")) != main {
			t.Errorf("%s: a transport of its own, want the Base's", what)
		}
	}
}

// A call that read the client certificate generation before a rotation
// and reaches the zoned hosts' table after a call that read it after
// (the rotation's) must not replace the newer transport with one made for
// the older certificate: that one's sessions are the old certificate's
// (a resumed handshake presents no certificate, and the server would go
// on authenticating the client with the old one), the newer transport
// would be retired at once, and the next call would rebuild it again.
func TestZonedTransportGenerationNeverGoesBack(t *testing.T) {
	req := &http.Request{Method: "GET", URL: &url.URL{Scheme: "https", Host: "[fe80::1%eth0]:8443", Path: "/"}, Header: http.Header{}}
	b, err := NewBase(BaseConfig{TLSConfig: &tls.Config{ClientSessionCache: tls.NewLRUClientSessionCache(8)}})
	if err != nil {
		t.Fatal(err)
	}
	main := b.t.Load()
	old := b.zonedTransport(main, req)
	var newer *http.Transport
	b.testHookZoned = func() {
		// The outer call read the generation; a rotation happens and
		// another call makes the zoned host's transport for it first.
		b.testHookZoned = nil
		b.ccGen.Add(1)
		newer = b.zonedTransport(main, req)
	}
	got := b.zonedTransport(main, req)
	if newer == old {
		t.Fatal("the call after the rotation kept the transport of the previous certificate")
	}
	if got != newer {
		t.Errorf("a call that read the generation before the rotation got a transport made for it, want the newer one")
	}
	b.mu.Lock()
	z := b.zoned["fe80::1%eth0"]
	retired := len(b.retired)
	b.mu.Unlock()
	if z.t != newer || z.gen != b.ccGen.Load() {
		t.Errorf("the zoned host's transport is for generation %d, want %d (the newer one kept)", z.gen, b.ccGen.Load())
	}
	if retired != 1 {
		t.Errorf("%d retired transports, want 1 (the previous certificate's)", retired)
	}
	if again := b.zonedTransport(main, req); again != newer {
		t.Error("the next call rebuilt the zoned host's transport")
	}
}
