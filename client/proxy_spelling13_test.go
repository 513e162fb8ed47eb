package client_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
)

// TestEgressAllowlistSpellingsThroughProxy: through a proxy, an allowlist
// entry "127.0.0.1:<port>" allows "https://[::ffff:127.0.0.1]:<port>/",
// as it does directly (the proxy connects 127.0.0.1, Go's dialer would
// too). GuardProxy checked the IPv4-mapped address as written against the
// dialer's allowed addresses, which held 127.0.0.1 only, and refused it.
// Another mapped address stays refused, before the proxy sees it.
func TestEgressAllowlistSpellingsThroughProxy(t *testing.T) {
	var served atomic.Int32
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) }))
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	var connects atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		connects.Add(1)
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		c, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		go func() { io.Copy(up, buf); up.Close() }()
		io.Copy(c, up)
		c.Close()
	}))
	t.Cleanup(proxy.Close)
	pu, _ := url.Parse(proxy.URL)
	ca, _ := testPKI()
	cl, err := client.New(client.WithTLSConfig(testpkiTrust(ca)), client.WithEgressAllowlist("127.0.0.1:"+port),
		client.WithProxy(http.ProxyURL(pu)), client.WithAllowedProxies(pu.Host))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, raw := range []string{
		"https://127.0.0.1:" + port + "/x",
		"https://[::ffff:127.0.0.1]:" + port + "/x",
		"https://[::ffff:7f00:1]:" + port + "/x",
	} {
		before, cb := served.Load(), connects.Load()
		req, _ := http.NewRequest(http.MethodGet, raw, nil)
		resp, err := cl.Do(req)
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		resp.Body.Close()
		if got, gotc := served.Load()-before, connects.Load()-cb; got != 1 || gotc != 1 {
			t.Errorf("%s: server saw %d requests through %d CONNECTs, want 1 and 1", raw, got, gotc)
		}
	}
	cb := connects.Load()
	req, _ := http.NewRequest(http.MethodGet, "https://[::ffff:127.0.0.2]:"+port+"/x", nil)
	if resp, err := cl.Do(req); err == nil {
		resp.Body.Close()
		t.Error("https://[::ffff:127.0.0.2]: allowed, want refused")
	}
	if n := connects.Load() - cb; n != 0 {
		t.Errorf("https://[::ffff:127.0.0.2]: the proxy saw %d CONNECTs, want 0", n)
	}
}
