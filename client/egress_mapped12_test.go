package client_test

import (
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
)

// An IP-literal origin, redirect origin or allowlist entry is allowed by
// the SSRF-safe dialer as the exact address the caller named (see
// WithAllowedNetworks), without WithAllowedNetworks. Written as an
// IPv4-mapped IPv6 literal ("[::ffff:127.0.0.1]"), the address is the
// IPv4 one: Go's dialer connects it over IPv4, and the dialer's check sees
// 127.0.0.1. Allowing only the IPv6 form refused every request to the
// origin at dial time.
func TestIPv4MappedOriginIsDialable(t *testing.T) {
	var served atomic.Int32
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) }))
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	ca, _ := testPKI()
	for _, c := range []struct {
		name  string
		opt   client.Option
		extra client.Option // nil: none
	}{
		{"WithOrigins", client.WithOrigins("https://[::ffff:127.0.0.1]:" + port), nil},
		// A redirect origin is in its standard form ("[::ffff:7f00:1]" is
		// refused: see TestOriginIPNotInStandardFormRefused); the
		// allowlist compares addresses, so it takes any spelling.
		// (Redirect origins require WithOrigins or WithEgressAllowlist:
		// TestRedirectOriginsWithoutOriginsRefused.)
		{"WithRedirectOrigins", client.WithRedirectOrigins("https://[::ffff:127.0.0.1]:" + port), client.WithOrigins("https://api.example.com")},
		{"WithEgressAllowlist", client.WithEgressAllowlist("[::FFFF:127.0.0.1]:" + port), nil},
		{"WithEgressAllowlist hex", client.WithEgressAllowlist("[::ffff:7f00:1]:" + port), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := []client.Option{client.WithTLSConfig(testpkiTrust(ca)), c.opt}
			if c.extra != nil {
				o = append(o, c.extra)
			}
			cl, err := client.New(o...)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			before := served.Load()
			req, _ := http.NewRequest(http.MethodGet, "https://[::ffff:127.0.0.1]:"+port+"/x", nil)
			resp, err := cl.Do(req)
			if err != nil {
				t.Fatalf("request to the %s address: %v", c.name, err)
			}
			resp.Body.Close()
			if got := served.Load() - before; got != 1 {
				t.Errorf("server saw %d requests, want 1", got)
			}
		})
	}

}
