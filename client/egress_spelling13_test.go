package client_test

import (
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
)

// TestEgressAllowlistSpellings: an allowlist entry allows its destination
// in every spelling Go dials to it: "127.0.0.1:<port>" allows
// "https://[::ffff:127.0.0.1]:<port>/" (dialed over IPv4, the dialer's
// check sees 127.0.0.1) and "https://127.0.0.1:0<port>/" (the port is
// dialed as the number). Both were refused with ErrEgressDenied.
func TestEgressAllowlistSpellings(t *testing.T) {
	var served atomic.Int32
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) }))
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	ca, _ := testPKI()
	cl, err := client.New(client.WithTLSConfig(testpkiTrust(ca)), client.WithEgressAllowlist("127.0.0.1:"+port))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, raw := range []string{
		"https://127.0.0.1:" + port + "/x",
		"https://[::ffff:127.0.0.1]:" + port + "/x",
		"https://127.0.0.1:0" + port + "/x",
	} {
		before := served.Load()
		req, _ := http.NewRequest(http.MethodGet, raw, nil)
		resp, err := cl.Do(req)
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		resp.Body.Close()
		if got := served.Load() - before; got != 1 {
			t.Errorf("%s: server saw %d requests, want 1", raw, got)
		}
	}
}
