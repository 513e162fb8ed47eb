package client_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
)

// WithoutSSRFProtection turns off the SSRF-safe dialer of the hardened
// base; WithBaseTransport replaces that base, whose dialing is then the
// caller's: the option did nothing, silently, where WithAllowedNetworks
// and WithAllowedProxies (which configure the same dialer) are refused.
func TestBaseTransportWithoutSSRFProtectionRefused(t *testing.T) {
	for _, opts := range [][]client.Option{
		{client.WithBaseTransport(http.DefaultTransport), client.WithoutSSRFProtection()},
		{client.WithoutSSRFProtection(), client.WithBaseTransport(http.DefaultTransport)},
	} {
		c, err := client.New(opts...)
		if err == nil {
			c.Close()
			t.Fatal("New succeeded, want a *ConfigError naming WithBaseTransport and WithoutSSRFProtection")
		}
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithBaseTransport" || !strings.Contains(err.Error(), "WithoutSSRFProtection") {
			t.Fatalf("New: %v, want a *ConfigError naming WithBaseTransport and WithoutSSRFProtection", err)
		}
	}
	// Each alone is accepted.
	for _, opt := range []client.Option{client.WithBaseTransport(http.DefaultTransport), client.WithoutSSRFProtection()} {
		c, err := client.New(opt)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
}
