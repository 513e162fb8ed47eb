package transport_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// zonedLoopback starts an HTTPS server on the IPv6 loopback address with
// leaf's certificate and returns it with the URL that
// names it with a zone, "https://[::1%25lo]:port/", skipping the test
// where the sandbox has no IPv6 loopback or no interface "lo".
func zonedLoopback(t *testing.T, leaf *testpki.Leaf, h http.Handler) (*httptest.Server, string) {
	t.Helper()
	if _, err := net.InterfaceByName("lo"); err != nil {
		t.Skip("no loopback interface named lo:", err)
	}
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, "https://[::1%25lo]:" + url.PathEscape(srv.URL[len("https://[::1]:"):]) + "/"
}

// An https URL whose host is an IPv6 literal with a zone
// ("https://[fe80::1%25eth0]:8443/", the only way to name a link-local
// peer; "[::1%25lo]" on loopback) failed every call with a certificate
// error, "certificate is not valid for any names", against a server whose
// certificate has the address as an IP SAN: net/http makes the TLS server
// name of the host with its zone, "[::1%lo]", which crypto/x509 parses as
// no IP address and verifies as a DNS name. The hardened base now verifies
// the address without its zone, on connections of its own per zoned host
// (the zone still chooses the interface dialed); chain verification and
// pins are unchanged: a certificate for another address, or from another
// CA, or not matching the pins, is still refused.
func TestBaseVerifiesZonedIPv6HostWithoutZone(t *testing.T) {
	ca := pkiMust(testpki.NewCA("root"))
	var mu sync.Mutex
	var protos []string
	srv, zoned := zonedLoopback(t, pkiMust(ca.Server("::1")), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		protos = append(protos, r.Proto)
		mu.Unlock()
		io.WriteString(w, "ok")
	}))

	// The premise: net/http alone fails the call on the zone.
	raw := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: testpki.Pool(ca)}}
	t.Cleanup(raw.CloseIdleConnections)
	if _, _, err := pkiGet(t, raw, zoned); err == nil {
		t.Fatal("net/http verified a zoned IPv6 host: the premise is gone")
	} else if _, ok := errors.AsType[x509.HostnameError](err); !ok {
		t.Fatalf("net/http alone: %v, want an x509.HostnameError", err)
	}

	for _, h2 := range []bool{true, false} {
		cfg := transport.BaseConfig{TLSConfig: &tls.Config{RootCAs: testpki.Pool(ca)}}
		if !h2 {
			cfg.TLSConfig.NextProtos = []string{"http/1.1"}
		}
		b := pkiMust(transport.NewBase(cfg))
		t.Cleanup(b.CloseIdleConnections)
		for range 2 {
			_, body, err := pkiGet(t, b, zoned)
			if err != nil || body != "ok" {
				t.Fatalf("h2 %v: GET %s: %q, %v; want ok", h2, zoned, body, err)
			}
		}
		// The address without zone, as before.
		if _, body, err := pkiGet(t, b, srv.URL); err != nil || body != "ok" {
			t.Fatalf("h2 %v: GET %s: %q, %v; want ok", h2, srv.URL, body, err)
		}
	}
	mu.Lock()
	if len(protos) != 6 || protos[0] != "HTTP/2.0" || protos[3] != "HTTP/1.1" {
		t.Errorf("protocols seen: %v, want 3 HTTP/2.0 then 3 HTTP/1.1", protos)
	}
	mu.Unlock()

	// Verification is not weakened: another CA, and pins that do not
	// match, are refused on the zoned host as on any other.
	other := pkiMust(testpki.NewCA("other root"))
	b := pkiMust(transport.NewBase(transport.BaseConfig{TLSConfig: &tls.Config{RootCAs: testpki.Pool(other)}}))
	t.Cleanup(b.CloseIdleConnections)
	if _, _, err := pkiGet(t, b, zoned); !transport.IsCertificateError(err) {
		t.Fatalf("zoned host, server of an untrusted CA: %v, want a certificate error", err)
	}
	pin1, pin2 := pkiMust(testpki.RandomPin()), pkiMust(testpki.RandomPin())
	b = pkiMust(transport.NewBase(transport.BaseConfig{
		TLSConfig: &tls.Config{RootCAs: testpki.Pool(ca)},
		Pins:      []transport.PinSet{{Host: "::1", Pins: []string{pin1, pin2}}},
	}))
	t.Cleanup(b.CloseIdleConnections)
	if _, _, err := pkiGet(t, b, zoned); !errors.Is(err, transport.ErrPinMismatch) {
		t.Fatalf("zoned host, pins that do not match: %v, want ErrPinMismatch", err)
	}
	// The address without its zone is verified, not nothing: a
	// certificate for other addresses is refused.
	_, zonedOther := zonedLoopback(t, pkiMust(ca.Server("::2", "fe80::1")), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	b = pkiMust(transport.NewBase(transport.BaseConfig{TLSConfig: &tls.Config{RootCAs: testpki.Pool(ca)}}))
	t.Cleanup(b.CloseIdleConnections)
	_, _, err := pkiGet(t, b, zonedOther)
	if _, ok := errors.AsType[x509.HostnameError](err); !ok || !transport.IsCertificateError(err) {
		t.Fatalf("zoned ::1, certificate for ::2 and fe80::1: %v, want a certificate error for the host", err)
	}
}
