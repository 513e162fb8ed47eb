package transport_test

import (
	"errors"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// TestPinIDNHostIsItsPunycodeName: a PinSet whose Host was an
// internationalised name in Unicode ("bücher.example.test", the host of
// the URL a caller calls) was refused by NewBase as if it were no host
// name ("want a host name, ..., not a URL, port or other wildcard"), while
// the same name is one host with its punycode form everywhere else (the
// credential scope, the redirect policy, HostKey). It is pinned by its
// punycode name, which is what the connection carries as its server name,
// and case is ignored as for an ASCII name; a name that does not convert
// is still a *ConfigError naming the Host.
func TestPinIDNHostIsItsPunycodeName(t *testing.T) {
	w := newPKIWorld(t)
	leaf := pkiMust(w.ca.Server("xn--bcher-kva.example.test"))
	srv := pkiServer(t, leaf.TLS, true, nil, nil)
	good := []string{testpki.Pin(leaf.Cert), testpki.Pin(w.ca.Cert)}
	other := []string{pkiMust(testpki.RandomPin()), pkiMust(testpki.RandomPin())}
	for _, host := range []string{"bücher.example.test", "BÜCHER.Example.Test.", "*.example.test"} {
		t.Run(host, func(t *testing.T) {
			b := pkiBase(t, transport.BaseConfig{Pins: []transport.PinSet{{Host: host, Pins: good}}}, srv, w.ca)
			if _, _, err := pkiGet(t, b, "https://bücher.example.test/"); err != nil {
				t.Fatalf("pinned %q, chain matches: %v", host, err)
			}
			b = pkiBase(t, transport.BaseConfig{Pins: []transport.PinSet{{Host: host, Pins: other}}}, srv, w.ca)
			if _, _, err := pkiGet(t, b, "https://bücher.example.test/"); !errors.Is(err, transport.ErrPinMismatch) {
				t.Fatalf("pinned %q to other keys: %v, want ErrPinMismatch", host, err)
			}
		})
	}
	_, err := transport.NewBase(transport.BaseConfig{Pins: []transport.PinSet{{Host: "a\u00ad\u200d.example.test", Pins: good}}})
	if ce, ok := errors.AsType[*transport.ConfigError](err); !ok || ce.Option != "Pins[0].Host" {
		t.Fatalf("a non-ASCII host that does not convert: %v, want a *ConfigError for Pins[0].Host", err)
	}
}
