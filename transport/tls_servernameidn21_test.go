package transport_test

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// A TLSConfig.ServerName written as a Unicode name ("bücher.example")
// was accepted: checkServerName took it for a DNS name through its IDNA
// form, but crypto/tls sends and verifies ServerName as written, and
// crypto/x509 matches a U-label against no certificate (certificates
// carry the A-label, "xn--bcher-kva.example"): every handshake failed,
// blaming the server's certificate. It is refused now with a
// *ConfigError for "TLSConfig.ServerName" that names the ASCII form to
// give, which works.
func TestTLSConfigServerNameUnicodeRefused(t *testing.T) {
	const uname, aname = "bücher.example", "xn--bcher-kva.example"
	ca := pkiMust(testpki.NewCA("root"))
	leaf := pkiMust(ca.Server(aname))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)

	// The premise: crypto/tls with the Unicode name fails the handshake.
	raw := &http.Transport{TLSClientConfig: &tls.Config{ServerName: uname, RootCAs: testpki.Pool(ca)}}
	t.Cleanup(raw.CloseIdleConnections)
	if resp, err := raw.RoundTrip(httptest.NewRequest("GET", srv.URL, nil).WithContext(t.Context())); err == nil {
		resp.Body.Close()
		t.Fatalf("crypto/tls verified %q against a certificate of %q: the premise is gone", uname, aname)
	}

	for _, name := range []string{uname, "Bücher.Example.", "api.bücher.example"} {
		for what, err := range map[string]error{
			"NewBase": func() error {
				_, err := transport.NewBase(transport.BaseConfig{TLSConfig: &tls.Config{ServerName: name}})
				return err
			}(),
			"CheckTLSConfig": transport.CheckTLSConfig(&tls.Config{ServerName: name}),
		} {
			ce, ok := errors.AsType[*transport.ConfigError](err)
			if !ok || ce.Option != "TLSConfig.ServerName" {
				t.Errorf("%s(ServerName %q) = %v, want a *ConfigError for TLSConfig.ServerName", what, name, err)
				continue
			}
			if !strings.Contains(err.Error(), "xn--bcher-kva") {
				t.Errorf("%s(ServerName %q) = %v, want the ASCII form named", what, name, err)
			}
		}
	}

	// The ASCII form goes on working, through the hardened base.
	b, err := transport.NewBase(transport.BaseConfig{TLSConfig: &tls.Config{ServerName: aname, RootCAs: testpki.Pool(ca)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.CloseIdleConnections)
	resp, err := b.RoundTrip(httptest.NewRequest("GET", srv.URL, nil).WithContext(t.Context()))
	if err != nil {
		t.Fatalf("ServerName %q: %v", aname, err)
	}
	resp.Body.Close()
}
