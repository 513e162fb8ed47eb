package transport_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// A client certificate of TLSConfig.Certificates whose PrivateKey is not
// its leaf's key (a tls.Certificate put together by hand from a
// certificate file and a key of another: the previous key after a
// rotation, an HSM signer of another slot) was accepted by NewBase and
// CheckTLSConfig, though the constructors of ClientCertificate refuse such
// a pair: every handshake with a server verifying client certificates
// then failed with the server's "remote error: tls: error decrypting
// message", which names neither the certificate nor the key. It is a
// *ConfigError for TLSConfig.Certificates naming the certificate, as an
// expired one is; a chain whose key is that of a later certificate (the
// issuer's put first) is told apart.
func TestTLSConfigCertificatesRefusesMismatchedKey(t *testing.T) {
	ca := pkiMust(testpki.NewCA("client root"))
	good := pkiMust(ca.Client("svc"))
	other := pkiMust(ca.Client("svc"))
	mismatched := good.TLS
	mismatched.PrivateKey = other.Key
	noLeaf := mismatched
	noLeaf.Leaf = nil // parsed from the DER
	reversed := good.TLS
	reversed.Certificate = [][]byte{ca.Cert.Raw, good.Cert.Raw}
	reversed.Leaf = nil

	// What the server answers, so that the refusal is not a guess.
	w := newPKIWorld(t)
	srv := pkiServer(t, w.leaf.TLS, true, nil, func(c *tls.Config) {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = testpki.Pool(ca)
	})
	if b, err := transport.NewBase(transport.BaseConfig{
		TLSConfig:   &tls.Config{Certificates: []tls.Certificate{good.TLS}, RootCAs: testpki.Pool(w.ca)},
		DialContext: pkiDialTo(srv.Listener.Addr().String()),
	}); err != nil {
		t.Fatalf("NewBase with a matching pair: %v", err)
	} else {
		req, _ := http.NewRequest("GET", "https://api.example.test/", nil)
		resp, err := b.RoundTrip(req)
		if err != nil {
			t.Fatalf("a matching pair was refused: %v", err)
		}
		resp.Body.Close()
		b.CloseIdleConnections()
	}

	for _, tc := range []struct {
		name  string
		certs []tls.Certificate
		want  string
	}{
		{"another key", []tls.Certificate{mismatched}, "Certificates[0]"},
		{"another key, Leaf not set", []tls.Certificate{noLeaf}, "not the key of its leaf"},
		{"second of two", []tls.Certificate{good.TLS, mismatched}, "Certificates[1]"},
		{"issuer first", []tls.Certificate{reversed}, "certificate 2 of the chain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &tls.Config{Certificates: tc.certs}
			for what, err := range map[string]error{
				"NewBase":        func() error { _, err := transport.NewBase(transport.BaseConfig{TLSConfig: cfg}); return err }(),
				"CheckTLSConfig": transport.CheckTLSConfig(cfg),
			} {
				ce, ok := errors.AsType[*transport.ConfigError](err)
				if !ok || ce.Option != "TLSConfig.Certificates" {
					t.Fatalf("%s: %v, want a *ConfigError for TLSConfig.Certificates", what, err)
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("%s: %q, want it to say %q", what, err, tc.want)
				}
			}
		})
	}
}

// A tls.Certificate with only its Leaf set by hand (no chain bytes) is
// checked without a panic: with its own key it is accepted, with another
// it is refused as any other.
func TestTLSConfigCertificatesLeafWithoutChain(t *testing.T) {
	ca := pkiMust(testpki.NewCA("client root"))
	good := pkiMust(ca.Client("svc"))
	other := pkiMust(ca.Client("svc"))
	if err := transport.CheckTLSConfig(&tls.Config{Certificates: []tls.Certificate{{Leaf: good.Cert, PrivateKey: good.Key}}}); err != nil {
		t.Fatalf("CheckTLSConfig, own key: %v", err)
	}
	err := transport.CheckTLSConfig(&tls.Config{Certificates: []tls.Certificate{{Leaf: good.Cert, PrivateKey: other.Key}}})
	if ce, ok := errors.AsType[*transport.ConfigError](err); !ok || ce.Option != "TLSConfig.Certificates" {
		t.Fatalf("CheckTLSConfig, another key: %v, want a *ConfigError for TLSConfig.Certificates", err)
	}
}
