package transport_test

import (
	"crypto/tls"
	"errors"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// A PinSet.Host written as an IP with a trailing dot is that IP (the doc
// says a trailing dot is ignored): its pins must be enforced on connections
// to the IP, not accepted at NewBase and then never applied.
func TestPinIPHostPatternWithTrailingDotIsEnforced(t *testing.T) {
	w := newPKIWorld(t)
	evil := pkiServer(t, w.attacker.TLS, false, nil, nil)
	genuine := []string{testpki.Pin(w.leaf.Cert), testpki.Pin(w.ca.Cert)}
	for _, host := range []string{"127.0.0.1.", "::ffff:127.0.0.1"} {
		b := pkiMust(transport.NewBase(transport.BaseConfig{
			TLSConfig: &tls.Config{RootCAs: testpki.Pool(w.ca, w.attackerCA)},
			Pins:      []transport.PinSet{{Host: host, Pins: genuine}},
		}))
		_, _, err := pkiGet(t, b, evil.URL)
		b.CloseIdleConnections()
		var pme *transport.PinMismatchError
		if !errors.As(err, &pme) || pme.Host != "127.0.0.1" {
			t.Errorf("PinSet.Host %q, attacker at %s: err = %v, want a pin mismatch for 127.0.0.1", host, evil.URL, err)
		}
	}
	// The two spellings are the same host: a duplicate.
	_, err := transport.NewBase(transport.BaseConfig{Pins: []transport.PinSet{
		{Host: "127.0.0.1", Pins: genuine}, {Host: "127.0.0.1.", Pins: genuine},
	}})
	var ce *transport.ConfigError
	if !errors.As(err, &ce) || ce.Option != "Pins[1].Host" {
		t.Errorf("duplicate IP spelled with a dot: err = %v, want a ConfigError for Pins[1].Host", err)
	}
}
