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

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// A TLSConfig whose NextProtos held an empty protocol name, or one longer
// than 255 bytes, was accepted by NewBase (and client.New's
// WithTLSConfig), but crypto/tls refuses to build a ClientHello with it
// ("tls: invalid NextProtos value"): every handshake failed, each call an
// error that names no option. It is a *ConfigError for
// "TLSConfig.NextProtos" now, in NewBase, CheckTLSConfig and client.New.
func TestTLSConfigInvalidNextProtosRefused(t *testing.T) {
	ca := pkiMust(testpki.NewCA("root"))
	leaf := pkiMust(ca.Server("127.0.0.1"))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)

	long := strings.Repeat("x", 256)
	for n, protos := range [][]string{{""}, {"h2", ""}, {long}, {"http/1.1", long}} {
		// The premise: crypto/tls fails every handshake with it.
		raw := &http.Transport{TLSClientConfig: &tls.Config{NextProtos: protos, RootCAs: testpki.Pool(ca)}}
		if resp, err := raw.RoundTrip(httptest.NewRequest("GET", srv.URL, nil).WithContext(t.Context())); err == nil {
			resp.Body.Close()
			t.Fatalf("NextProtos list %d: crypto/tls made a handshake with it: the premise is gone", n)
		}
		raw.CloseIdleConnections()

		for what, err := range map[string]error{
			"NewBase": func() error {
				_, err := transport.NewBase(transport.BaseConfig{TLSConfig: &tls.Config{NextProtos: protos}})
				return err
			}(),
			"CheckTLSConfig": transport.CheckTLSConfig(&tls.Config{NextProtos: protos}),
		} {
			ce, ok := errors.AsType[*transport.ConfigError](err)
			if !ok || ce.Option != "TLSConfig.NextProtos" {
				t.Errorf("%s(NextProtos list %d) = %v, want a *ConfigError for TLSConfig.NextProtos", what, n, err)
			}
		}
		_, err := client.New(client.WithTLSConfig(&tls.Config{NextProtos: protos}))
		if ce, ok := errors.AsType[*client.ConfigError](err); !ok || ce.Option != "WithTLSConfig" || !strings.Contains(err.Error(), "NextProtos") {
			t.Errorf("client.New(WithTLSConfig(NextProtos list %d)) = %v, want a *ConfigError for WithTLSConfig naming NextProtos", n, err)
		}
	}

	// A valid list goes on working through the hardened base.
	b, err := transport.NewBase(transport.BaseConfig{TLSConfig: &tls.Config{NextProtos: []string{"h2", "http/1.1"}, RootCAs: testpki.Pool(ca)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.CloseIdleConnections)
	resp, err := b.RoundTrip(httptest.NewRequest("GET", srv.URL, nil).WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}
