package client_test

import (
	"errors"
	"testing"

	"github.com/securecall/securecall/client"
)

// TestOriginsInvalidIPv4: WithOrigins("https://256.1.1.1") and
// WithRedirectOrigins("https://1.2.3.999") are ConfigErrors naming the
// option (see transport.TestParseOriginInvalidIPv4), as
// WithEgressAllowlist("256.1.1.1") is.
func TestOriginsInvalidIPv4(t *testing.T) {
	for name, opt := range map[string]client.Option{
		"WithOrigins":         client.WithOrigins("https://256.1.1.1"),
		"WithRedirectOrigins": client.WithRedirectOrigins("https://1.2.3.999"),
	} {
		_, err := client.New(client.WithOrigins("https://api.example.com"), opt)
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != name {
			t.Errorf("%s: %v, want a ConfigError for %s", name, err, name)
		}
	}
}
