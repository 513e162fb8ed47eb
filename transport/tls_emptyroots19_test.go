package transport_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// A RootCAs pool with no certificate in it trusts nothing: every handshake
// fails with "certificate signed by unknown authority", which sends the
// operator to the server's certificate. It is what a pool filled with
// AppendCertsFromPEM from a file that holds no PEM certificate (the wrong
// path read as empty, a DER file) is, the bool it returned unchecked.
// NewBase refuses it, as it refuses a ServerName no certificate is valid
// for: a *ConfigError naming TLSConfig.RootCAs, not ErrInsecureTLS (it is
// broken, not weak). Without the refusal a call to a server of the CA the
// caller meant to trust fails.
func TestNewBaseRefusesEmptyRootCAs(t *testing.T) {
	w := newPKIWorld(t)
	srv := pkiServer(t, w.leaf.TLS, true, nil, nil)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(w.ca.Cert.Raw) // DER, not PEM: nothing added
	cfg := &tls.Config{RootCAs: roots}

	if err := transport.CheckTLSConfig(cfg); err == nil {
		t.Error("CheckTLSConfig accepted an empty RootCAs pool")
	}
	_, err := transport.NewBase(transport.BaseConfig{TLSConfig: cfg})
	if err == nil {
		b := pkiBase(t, transport.BaseConfig{TLSConfig: &tls.Config{RootCAs: roots}}, srv)
		_, _, gerr := pkiGet(t, b, "https://api.example.test/")
		t.Fatalf("NewBase accepted an empty RootCAs pool; a call failed with %v", gerr)
	}
	ce, ok := errors.AsType[*transport.ConfigError](err)
	if !ok || ce.Option != "TLSConfig.RootCAs" {
		t.Fatalf("err = %v, want a *ConfigError naming TLSConfig.RootCAs", err)
	}
	if errors.Is(err, transport.ErrInsecureTLS) {
		t.Fatalf("err = %v matches ErrInsecureTLS; an empty pool is broken, not insecure", err)
	}

	// A pool with a certificate, and no pool (the system roots), are
	// accepted.
	for _, c := range []*tls.Config{{RootCAs: testpki.Pool(w.ca)}, {}} {
		if err := transport.CheckTLSConfig(c); err != nil {
			t.Errorf("CheckTLSConfig(%+v): %v", c.RootCAs, err)
		}
	}
}
