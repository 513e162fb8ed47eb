package client_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/client"
)

// DESIGN.md: InsecureSkipVerify is refused with an error, never honoured
// (security.md: "— (never)" loosened). WithBaseTransport took an
// *http.Transport whose TLSClientConfig skipped verification, or allowed
// TLS 1.0, and the client called through it: a configuration WithTLSConfig
// refuses got in through the escape hatch. The TLS configuration of an
// *http.Transport given to WithBaseTransport is checked as WithTLSConfig's
// is.
func TestWithBaseTransportRefusesInsecureTLS(t *testing.T) {
	cases := []struct {
		name string
		tc   *tls.Config
	}{
		{"InsecureSkipVerify", &tls.Config{InsecureSkipVerify: true}},
		{"MinVersion TLS 1.0", &tls.Config{MinVersion: tls.VersionTLS10}},
		{"MaxVersion TLS 1.1", &tls.Config{MaxVersion: tls.VersionTLS11}},
		{"insecure cipher suite", &tls.Config{CipherSuites: []uint16{tls.TLS_RSA_WITH_RC4_128_SHA}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := client.New(client.WithBaseTransport(&http.Transport{TLSClientConfig: c.tc}))
			var ce *client.ConfigError
			if !errors.As(err, &ce) || ce.Option != "WithBaseTransport" || !errors.Is(err, client.ErrInsecureTLS) {
				t.Fatalf("New: %v, want a *ConfigError naming WithBaseTransport that matches ErrInsecureTLS", err)
			}
		})
	}
	// A transport that keeps verification is accepted.
	ok := &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
	c, err := client.New(client.WithBaseTransport(ok))
	if err != nil {
		t.Fatalf("New with a verifying transport: %v", err)
	}
	c.Close()
}
