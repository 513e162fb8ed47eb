package client_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// TestPinsNotMatchingTLSServerNameRefused: with TLSConfig.ServerName set,
// every handshake of the client (to an origin, a redirect origin, the token
// endpoint, an https:// proxy) sends that name and is verified for it, and
// pins are matched against it: a set for the origin's own host ("pin the
// IP I call") was never checked, the connection going out unpinned with
// New's blessing. New refuses it, naming WithPins and Pins[i].Host.
func TestPinsNotMatchingTLSServerNameRefused(t *testing.T) {
	ca, _ := testPKI()
	srv := newTLSServer(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {}))
	withName := func(name string) []client.Option {
		return opts(loopback(), client.WithOrigins(srv.URL),
			client.WithTLSConfig(&tls.Config{RootCAs: testpki.Pool(ca), ServerName: name}), client.WithMaxAttempts(1))
	}
	cases := []struct {
		name string
		opts []client.Option
	}{
		{"the origin's IP under a server name", opts(withName("localhost"), client.WithPins(pinSet(t, "127.0.0.1")))},
		{"the origin's IP and the server name", opts(withName("localhost"), client.WithPins(pinSet(t, "localhost"), pinSet(t, "127.0.0.1")))},
		{"wildcard behind an exact set", opts(withName("api.example.test"), client.WithPins(pinSet(t, "api.example.test"), pinSet(t, "*.example.test")))},
		{"a name under an IP server name", opts(withName("127.0.0.1"), client.WithPins(pinSet(t, "localhost")))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := client.New(tc.opts...)
			if err == nil {
				defer c.Close()
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
				resp, gerr := c.Do(req)
				if gerr == nil {
					resp.Body.Close()
				}
				t.Fatalf("New succeeded (a call: %v), want a *ConfigError naming WithPins", gerr)
			}
			var ce *client.ConfigError
			if !errors.As(err, &ce) || ce.Option != "WithPins" || !strings.Contains(err.Error(), "Pins[") ||
				!strings.Contains(err.Error(), "ServerName") {
				t.Fatalf("New: %v, want a *ConfigError naming WithPins, Pins[i] and ServerName", err)
			}
		})
	}
	// The set for the server name is enforced, whatever host is dialed.
	for _, tc := range []struct{ serverName, pin string }{{"localhost", "LocalHost."}, {"127.0.0.1", "127.0.0.1"}} {
		c, err := client.New(opts(withName(tc.serverName), client.WithPins(pinSet(t, tc.pin)))...)
		if err != nil {
			t.Fatalf("New with a set for ServerName %q: %v", tc.serverName, err)
		}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		c.Close()
		if !errors.Is(err, transport.ErrPinMismatch) {
			t.Fatalf("ServerName %q, pins of another key: %v, want ErrPinMismatch", tc.serverName, err)
		}
	}
}
