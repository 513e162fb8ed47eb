package transport_test

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// A TLSConfig.ServerName is the server name of every connection of a
// Base, whatever host is dialed, and pins are looked up by it: a pin set
// for another name (a typo, or the host's public name beside an internal
// ServerName), a wildcard behind an exact set for that name, an IP set
// when ServerName is a name, or a name set when it is an IP address, is
// never checked. NewBase accepted such sets, and the host was silently
// left unpinned (client.New refused them; a Base built directly did not).
// They are a *ConfigError naming Pins[i].Host and ServerName now, as in
// client.New; the set that applies, and IP sets with an IP ServerName, are
// still accepted.
func TestPinSetsServerNameNeverChecksRefused(t *testing.T) {
	a, b := pkiMust(testpki.RandomPin()), pkiMust(testpki.RandomPin())
	set := func(host string) transport.PinSet { return transport.PinSet{Host: host, Pins: []string{a, b}} }
	for _, tc := range []struct {
		name       string
		serverName string
		sets       []transport.PinSet
		refused    int // index of the set refused, -1 for none
	}{
		{"another name", "api.example.test", []transport.PinSet{set("api.example.test"), set("public.example.test")}, 1},
		{"only another name", "internal.example.test", []transport.PinSet{set("api.example.test")}, 0},
		{"wildcard behind exact", "api.example.test", []transport.PinSet{set("*.example.test"), set("api.example.test")}, 0},
		{"IP set, name ServerName", "api.example.test", []transport.PinSet{set("api.example.test"), set("127.0.0.1")}, 1},
		{"name set, IP ServerName", "127.0.0.1", []transport.PinSet{set("127.0.0.1"), set("api.example.test")}, 1},
		{"exact", "API.example.test.", []transport.PinSet{set("api.example.test")}, -1},
		{"wildcard", "api.example.test", []transport.PinSet{set("*.example.test")}, -1},
		{"IP sets, IP ServerName", "[::1]", []transport.PinSet{set("127.0.0.1"), set("::1")}, -1},
		{"IP ServerName with a dot", "127.0.0.1.", []transport.PinSet{set("127.0.0.1")}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := transport.NewBase(transport.BaseConfig{TLSConfig: &tls.Config{ServerName: tc.serverName}, Pins: tc.sets})
			if tc.refused < 0 {
				if err != nil {
					t.Fatalf("NewBase: %v", err)
				}
				return
			}
			ce, ok := errors.AsType[*transport.ConfigError](err)
			want := "Pins[" + string(rune('0'+tc.refused)) + "].Host"
			if !ok || ce.Option != want || !strings.Contains(err.Error(), "ServerName") {
				t.Fatalf("NewBase: %v, want a *ConfigError for %s naming ServerName", err, want)
			}
		})
	}
}
