package transport_test

import (
	"crypto/tls"
	"net/http"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// The inventory's "pinned" mark must say whether the connection was
// checked against a pin set, and pins apply to the TLS server name, not to
// the URL's host: with a TLSConfig.ServerName override the URL's host may
// be unpinned while the connection is checked (the call is listed as
// pinned; the other way round, a set for the URL's host that the
// ServerName leaves unchecked, NewBase refuses); an IDN host is pinned by its
// punycode name, which is what the connection carries.
func TestBasePinnedMarkFollowsTheConnection(t *testing.T) {
	w := newPKIWorld(t)
	ca := w.ca
	leaf := pkiMust(ca.Server("api.example.test", "other.example.test", "xn--bcher-kva.example.test", "127.0.0.1"))
	srv := pkiServer(t, leaf.TLS, true, nil, nil)
	pins := []string{testpki.Pin(leaf.Cert), testpki.Pin(ca.Cert)}
	for _, tc := range []struct {
		name       string
		serverName string
		pinHost    string
		url        string
		want       bool
	}{
		{"plain pinned name", "", "api.example.test", "https://api.example.test/", true},
		// "URL host pinned, server name overridden" (ServerName
		// other.example.test, a set for api.example.test: the call was
		// not checked, and not marked pinned) is refused by NewBase now
		// (TestPinSetsServerNameNeverChecksRefused).
		{"server name pinned, URL host not", "api.example.test", "api.example.test", "https://other.example.test/", true},
		{"IDN host pinned by its punycode name", "", "xn--bcher-kva.example.test", "https://bücher.example.test/", true},
		{"pinned IP", "", "127.0.0.1", "https://127.0.0.1/", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := pkiBase(t, transport.BaseConfig{
				TLSConfig: &tls.Config{ServerName: tc.serverName},
				Pins:      []transport.PinSet{{Host: tc.pinHost, Pins: pins}},
			}, srv, ca)
			var info transport.CallInfo
			inner := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				resp, err := b.RoundTrip(req)
				info, _ = transport.CallInfoFrom(req.Context())
				return resp, err
			})
			if _, _, err := pkiGet(t, inventoryLayer(t, inner, newInventory(t, transport.InventoryConfig{})), tc.url); err != nil {
				t.Fatal(err)
			}
			if info.Pinned != tc.want {
				t.Fatalf("Pinned = %v, want %v", info.Pinned, tc.want)
			}
		})
	}
}
