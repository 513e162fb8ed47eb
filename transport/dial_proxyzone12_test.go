package transport_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestGuardProxyRefusesDirectProxyAddressWithZone: a proxy listed with an
// IPv6 zone in upper case ("[fe80::1%ETH0]:3128", as an interface may be
// named) is exempt from the address check when the dialer dials that
// address as net/http writes it, zone as written. GuardProxy must refuse a
// request sent directly to that address, here written exactly as the
// list writes it; it compared the zone lower-cased (through OriginOf), so
// the request went out, unchecked, to the proxy's address.
func TestGuardProxyRefusesDirectProxyAddressWithZone(t *testing.T) {
	var served atomic.Int32
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		io.WriteString(w, "proxy admin page")
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(l.Addr().String())

	// "LO" is no interface: Go dials [::1] with no scope, which reaches
	// the loopback listener, as an interface named so would.
	for _, listed := range []string{"[::1%LO]:" + port, "[0::1%Lo]:" + port} {
		sd, err := transport.NewSafeDialer(transport.DialConfig{AnyPort: true, Proxies: []string{listed}})
		if err != nil {
			t.Fatal(err)
		}
		hc := &http.Client{Transport: &http.Transport{DialContext: sd.DialContext, Proxy: sd.GuardProxy(nil), DisableKeepAlives: true}}
		zone := listed[len("[::1%") : len(listed)-len("]:"+port)]
		if listed[1] == '0' {
			zone = listed[len("[0::1%") : len(listed)-len("]:"+port)]
		}
		for _, u := range []string{"http://[::1%25" + zone + "]:" + port + "/", "http://[0:0::1%25" + zone + "]:" + port + "/"} {
			before := served.Load()
			resp, err := hc.Get(u)
			if err == nil {
				resp.Body.Close()
			}
			var ee *transport.EgressError
			if !errors.Is(err, transport.ErrEgressDenied) || !errors.As(err, &ee) {
				t.Errorf("proxy %s, direct %s: err = %v, want an *EgressError (a listed proxy's address)", listed, u, err)
			}
			if n := served.Load() - before; n != 0 {
				t.Errorf("proxy %s, direct %s: the proxy's address served %d requests, want 0", listed, u, n)
			}
		}
	}
}
