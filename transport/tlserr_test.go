package transport_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// TestIsCertificateError classifies errors produced by real handshakes
// through a Base and an http.Client (so wrapped as callers see them).
func TestIsCertificateError(t *testing.T) {
	w := newPKIWorld(t)
	now := time.Now()
	expired := pkiMust(w.ca.Issue(testpki.LeafOptions{Names: []string{"api.example.test"},
		NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}))
	otherName := pkiMust(w.ca.Server("other.example.test"))
	clientCA := pkiMust(testpki.NewCA("client root"))
	strangerCA := pkiMust(testpki.NewCA("stranger root"))
	stranger := pkiMust(strangerCA.Client("stranger"))
	strangerCert := pkiMust(transport.NewClientCertificateFromPEM(stranger.CertPEM, stranger.KeyPEM))
	requireClientCert := func(c *tls.Config) {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = testpki.Pool(clientCA)
	}
	oldTLS := func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11 }

	type scenario struct {
		name   string
		cert   tls.Certificate
		mod    func(*tls.Config)
		cfg    transport.BaseConfig
		cas    []*testpki.CA
		isCert bool
	}
	var scenarios []scenario
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		vn := tls.VersionName(v)
		tc := func() *tls.Config { return &tls.Config{MaxVersion: v} }
		scenarios = append(scenarios,
			scenario{vn + " unknown authority", w.leaf.TLS, nil, transport.BaseConfig{TLSConfig: tc()}, []*testpki.CA{w.attackerCA}, true},
			scenario{vn + " wrong host name", otherName.TLS, nil, transport.BaseConfig{TLSConfig: tc()}, []*testpki.CA{w.ca}, true},
			scenario{vn + " expired leaf", expired.TLS, nil, transport.BaseConfig{TLSConfig: tc()}, []*testpki.CA{w.ca}, true},
			scenario{vn + " pin mismatch", w.attacker.TLS, nil, transport.BaseConfig{TLSConfig: tc(),
				Pins: []transport.PinSet{{Host: "api.example.test", Pins: []string{testpki.Pin(w.leaf.Cert), testpki.Pin(w.ca.Cert)}}}},
				[]*testpki.CA{w.ca, w.attackerCA}, true},
			// TLS 1.3 servers answer a missing client certificate with
			// certificate_required; TLS 1.2 ones (RFC 5246 7.4.6) with the
			// generic handshake_failure, which also means "no common
			// cipher suite" and so is not classified as a certificate error.
			scenario{vn + " client certificate missing", w.leaf.TLS, requireClientCert, transport.BaseConfig{TLSConfig: tc()}, []*testpki.CA{w.ca}, v == tls.VersionTLS13},
			scenario{vn + " client certificate unknown", w.leaf.TLS, requireClientCert,
				transport.BaseConfig{TLSConfig: tc(), ClientCertificate: strangerCert}, []*testpki.CA{w.ca}, true},
		)
	}
	scenarios = append(scenarios, scenario{"server below TLS 1.2", w.leaf.TLS, oldTLS, transport.BaseConfig{}, []*testpki.CA{w.ca}, false})

	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			srv := pkiServer(t, sc.cert, false, nil, sc.mod)
			b := pkiBase(t, sc.cfg, srv, sc.cas...)
			_, _, err := pkiGet(t, b, "https://api.example.test/")
			if err == nil {
				t.Fatal("call succeeded")
			}
			if got := transport.IsCertificateError(err); got != sc.isCert {
				t.Fatalf("IsCertificateError(%v) = %v, want %v", err, got, sc.isCert)
			}
		})
	}

	// Errors that are not about certificates.
	refused := func() error {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		_, _, err = pkiGet(t, http.DefaultTransport, "https://"+addr+"/")
		return err
	}()
	for _, err := range []error{
		nil,
		context.Canceled,
		context.DeadlineExceeded,
		io.ErrUnexpectedEOF,
		refused,
		transport.ErrCircuitOpen,
		fmt.Errorf("wrapped: %w", transport.ErrRateLimited),
		tls.AlertError(40), // handshake_failure
		tls.RecordHeaderError{Msg: "not tls"},
	} {
		if transport.IsCertificateError(err) {
			t.Errorf("IsCertificateError(%v) = true", err)
		}
	}
	// Errors that are, built directly (QUIC-style alerts, joined errors).
	for _, err := range []error{
		tls.AlertError(42),
		fmt.Errorf("quic: %w", tls.AlertError(116)),
		errors.Join(io.EOF, &transport.PinMismatchError{Host: "h"}),
		&transport.ConfigError{Option: "TLSConfig.InsecureSkipVerify", Err: transport.ErrInsecureTLS},
	} {
		if !transport.IsCertificateError(err) {
			t.Errorf("IsCertificateError(%v) = false", err)
		}
	}
}
