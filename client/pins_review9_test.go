package client_test

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

func pinSet(t *testing.T, host string) transport.PinSet {
	t.Helper()
	p1, _ := testpki.RandomPin()
	p2, _ := testpki.RandomPin()
	return transport.PinSet{Host: host, Pins: []string{p1, p2}}
}

// A pin set whose host the client can never connect to (a typo,
// "api.exmaple.com") would pin nothing, silently: the connections to the
// real host go unpinned. New refuses it, naming WithPins and Pins[i].
func TestPinsHostMatchingNothingRefused(t *testing.T) {
	cases := []struct {
		name string
		opts []client.Option
	}{
		{"typo", []client.Option{client.WithOrigins("https://api.example.com"), client.WithPins(pinSet(t, "api.example.com"), pinSet(t, "api.exmaple.com"))}},
		{"wildcard one label only", []client.Option{client.WithOrigins("https://a.b.example.com"), client.WithPins(pinSet(t, "*.example.com"))}},
		{"other IP", []client.Option{client.WithOrigins("https://127.0.0.1:8443"), client.WithPins(pinSet(t, "127.0.0.2"))}},
		{"plain http origin only", []client.Option{client.WithOrigins("http://localhost:8080"), client.WithPins(pinSet(t, "localhost"))}},
		{"allowlist elsewhere", []client.Option{client.WithEgressAllowlist("*.example.org"), client.WithPins(pinSet(t, "api.example.com"))}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := client.New(tc.opts...)
			if err == nil {
				c.Close()
				t.Fatal("New succeeded, want a *ConfigError naming WithPins")
			}
			var ce *client.ConfigError
			if !errors.As(err, &ce) || ce.Option != "WithPins" || !strings.Contains(err.Error(), "Pins[") {
				t.Fatalf("New: %v, want a *ConfigError naming WithPins and Pins[i]", err)
			}
		})
	}
}

// Every host the client may call over https can be pinned.
func TestPinsHostTheClientMayCallAccepted(t *testing.T) {
	cases := []struct {
		name string
		opts []client.Option
	}{
		{"origin", []client.Option{client.WithOrigins("https://API.example.com."), client.WithPins(pinSet(t, "api.example.com"))}},
		{"origin with port", []client.Option{client.WithOrigins("https://api.example.com:8443"), client.WithPins(pinSet(t, "api.example.com"))}},
		{"wildcard over origin", []client.Option{client.WithOrigins("https://a.example.com"), client.WithPins(pinSet(t, "*.example.com"))}},
		{"redirect origin", []client.Option{client.WithOrigins("https://api.example.com"), client.WithRedirectOrigins("https://cdn.example.net"), client.WithPins(pinSet(t, "cdn.example.net"))}},
		{"allowlist exact", []client.Option{client.WithOrigins("https://api.example.com"), client.WithEgressAllowlist("files.example.net:*"), client.WithPins(pinSet(t, "files.example.net"))}},
		{"allowlist exact under pin wildcard", []client.Option{client.WithEgressAllowlist("https://files.example.net:9443"), client.WithPins(pinSet(t, "*.example.net"))}},
		{"allowlist wildcard covers name", []client.Option{client.WithEgressAllowlist("*.example.com"), client.WithPins(pinSet(t, "a.b.example.com"))}},
		{"allowlist wildcard covers wildcard", []client.Option{client.WithEgressAllowlist("*.example.com"), client.WithPins(pinSet(t, "*.b.example.com"))}},
		{"IP origin", []client.Option{client.WithOrigins("https://[::1]:8443"), client.WithPins(pinSet(t, "0:0::1"))}},
		{"no allowlist: any host", []client.Option{client.WithPins(pinSet(t, "anything.example"))}},
		{"token endpoint", []client.Option{
			client.WithOrigins("https://api.example.com"),
			client.WithOAuth2ClientCredentials(tokens.OAuth2Config{TokenURL: "https://login.example.net/token", ClientID: "id",
				Auth: tokens.ClientSecretBasic(tokens.StaticSecret([]byte("s")))}),
			client.WithPins(pinSet(t, "login.example.net")),
		}},
		{"TLS server name", []client.Option{client.WithOrigins("https://10.0.0.1"), client.WithTLSConfig(&tls.Config{ServerName: "internal.example"}), client.WithPins(pinSet(t, "internal.example"))}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := client.New(tc.opts...)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			c.Close()
		})
	}
}
