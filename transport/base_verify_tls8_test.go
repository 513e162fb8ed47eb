package transport_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// A caller's own TLSConfig.VerifyConnection or VerifyPeerCertificate that
// refuses the server is a certificate failure like a pin mismatch: Base
// promises IsCertificateError for those (so that no layer retries them nor
// counts them as server faults), with or without pins, and the caller's
// error stays reachable with errors.Is.
func TestBaseCallerVerifierErrorIsCertificateError(t *testing.T) {
	w := newPKIWorld(t)
	srv := pkiServer(t, w.leaf.TLS, false, nil, nil)
	refuse := errors.New("caller says no")
	pins := []transport.PinSet{{Host: "api.example.test", Pins: []string{testpki.Pin(w.leaf.Cert), testpki.Pin(w.ca.Cert)}}}
	for _, tc := range []struct {
		name string
		tc   func() *tls.Config
		pins []transport.PinSet
	}{
		{"VerifyConnection", func() *tls.Config {
			return &tls.Config{VerifyConnection: func(tls.ConnectionState) error { return refuse }}
		}, nil},
		{"VerifyConnection with pins", func() *tls.Config {
			return &tls.Config{VerifyConnection: func(tls.ConnectionState) error { return refuse }}
		}, pins},
		{"VerifyPeerCertificate", func() *tls.Config {
			return &tls.Config{VerifyPeerCertificate: func([][]byte, [][]*x509.Certificate) error { return refuse }}
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := pkiBase(t, transport.BaseConfig{TLSConfig: tc.tc(), Pins: tc.pins}, srv, w.ca)
			_, _, err := pkiGet(t, b, "https://api.example.test/")
			if !errors.Is(err, refuse) {
				t.Fatalf("err = %v, want the caller's error", err)
			}
			if !transport.IsCertificateError(err) {
				t.Fatalf("IsCertificateError(%v) = false", err)
			}
		})
	}
}
