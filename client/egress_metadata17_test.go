package client_test

import (
	"errors"
	"net/http"
	"net/netip"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// TestAllowedNetworkKeepsMetadataDenied: WithAllowedNetworks opens a range
// for the SSRF-safe dialer, but not the cloud metadata and
// instance-credential addresses inside it (169.254.169.254 in link-local,
// 100.100.100.200 in the shared range Kubernetes pod networks use): a
// request to one is refused at dial time, with the dialer's
// *transport.AddressError, before any packet is sent.
func TestAllowedNetworkKeepsMetadataDenied(t *testing.T) {
	c, err := client.New(client.WithAllowedNetworks(
		netip.MustParsePrefix("169.254.0.0/16"),
		netip.MustParsePrefix("100.64.0.0/10"),
		netip.MustParsePrefix("fd00::/8"),
	))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, u := range []string{
		"https://169.254.169.254/latest/meta-data/",
		"https://169.254.170.2/v2/credentials/",
		"https://100.100.100.200/latest/meta-data/",
		"https://[fd00:ec2::254]/latest/meta-data/",
		"https://[::ffff:169.254.169.254]/",
	} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		resp, err := c.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		var ae *transport.AddressError
		if !errors.Is(err, client.ErrEgressDenied) || !errors.As(err, &ae) {
			t.Errorf("GET %s = %v, want the dialer's *transport.AddressError (ErrEgressDenied)", u, err)
		}
	}
}
