package transport_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// crypto/tls's client-side errors about the local client certificate or
// its key that no retry can fix (crypto/tls auth.go selectSignatureScheme
// and unsupportedCertificateError, handshake_client.go's crypto.Signer
// check), by their exact texts, are certificate errors: permanent, not
// counted by the breaker. A failure of the key's signer itself ("tls:
// failed to sign handshake: ...", a hardware or remote signer) may be
// transient and is not; nor is a message that only starts like one.
func TestClientKeyConfigurationErrorsAreCertificateErrors(t *testing.T) {
	wrap := func(msg string) error {
		// As a caller sees it: the handshake error inside the dial's
		// net.OpError, inside the client's url.Error.
		return &url.Error{Op: "Get", URL: "https://api.example.test/",
			Err: &net.OpError{Op: "remote error", Net: "tcp", Err: fmt.Errorf("transport: handshake: %w", errors.New(msg))}}
	}
	for _, tc := range []struct {
		msg    string
		isCert bool
	}{
		{"tls: peer doesn't support any of the certificate's signature algorithms", true},
		{"tls: peer doesn't support the certificate custom signature algorithms", true},
		{"tls: certificate RSA key size too small for supported signature algorithms", true},
		{"tls: unsupported certificate curve (P-224)", true},
		{"tls: unsupported certificate key (*ecdh.PublicKey)", true},
		{"tls: unsupported certificate: private key is rsa.PrivateKey, expected *rsa.PrivateKey", true},
		{"tls: unsupported certificate: private key is ecdsa.PrivateKey, expected *ecdsa.PrivateKey", true},
		{"tls: unsupported certificate: private key is *ed25519.PrivateKey, expected ed25519.PrivateKey", true},
		{"tls: certificate private key (*main.hsmKey) does not implement crypto.Signer", true},
		{"tls: client certificate private key of type *main.hsmKey does not implement crypto.Signer", true},
		{"tls: internal error: unsupported key (*ecdsa.PrivateKey)", true},

		{"tls: failed to sign handshake: hsm: device busy", false},
		{"tls: failed to sign handshake: context deadline exceeded", false},
		{"tls: unsupported certificate curve", false},
		{"tls: unsupported certificate curve (P-224) and more", false},
		{"tls: certificate RSA key size too small for supported signature algorithms: x", false},
		{"tls: internal error: did not keep handshake transcript for TLS 1.2", false},
		{"tls: certificate private key () does not implement crypto.Signer yet", false},
	} {
		err := wrap(tc.msg)
		if got := transport.IsCertificateError(err); got != tc.isCert {
			t.Errorf("IsCertificateError(%q) = %v, want %v", tc.msg, got, tc.isCert)
			continue
		}
		v := transport.Classify(context.Background(), nil, err, time.Now())
		if tc.isCert && (v.Class != transport.ClassPermanent || v.Breaker != transport.BreakerExcluded) {
			t.Errorf("%q classified %+v, want permanent, excluded from the breaker", tc.msg, v)
		}
		// Only the innermost error's text counts: a wrapper repeating it
		// around something else is not the crypto/tls error.
		outer := fmt.Errorf("%s: %w", tc.msg, errors.New("something else"))
		if transport.IsCertificateError(outer) {
			t.Errorf("IsCertificateError(%v) = true for a wrapper's text", outer)
		}
	}
}

// A client certificate (from the caller's GetClientCertificate) whose own
// SupportedSignatureAlgorithms leave none its key can make fails every
// handshake with a server that asks for it,
// before anything is sent: "tls: peer doesn't support the certificate
// custom signature algorithms" (crypto/tls auth.go
// unsupportedCertificateError). One attempt, no retry.
func TestClientCertificateCustomSignatureAlgorithmsIsACertificateError(t *testing.T) {
	w := newPKIWorld(t)
	clientCA := pkiMust(testpki.NewCA("client root"))
	client := pkiMust(clientCA.Client("client"))
	cert := client.TLS
	cert.SupportedSignatureAlgorithms = []tls.SignatureScheme{tls.Ed25519} // the key is ECDSA
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			srv := pkiServer(t, w.leaf.TLS, false, nil, func(c *tls.Config) {
				c.ClientAuth = tls.RequireAndVerifyClientCert
				c.ClientCAs = testpki.Pool(clientCA)
			})
			// GetClientCertificate: from Certificates crypto/tls would pick
			// none and send an empty certificate instead.
			get := func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
			b := pkiBase(t, transport.BaseConfig{TLSConfig: &tls.Config{MaxVersion: v, GetClientCertificate: get}}, srv, w.ca)
			inner := &countingRT{next: b}
			rt := pkiMust(transport.NewRetry(inner, transport.RetryConfig{
				MaxAttempts: 3, BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond,
			}))
			_, _, err := pkiGet(t, rt, "https://api.example.test/")
			if err == nil {
				t.Fatal("the handshake succeeded")
			}
			const msg = "tls: peer doesn't support the certificate custom signature algorithms"
			if !containsMsg(err, msg) {
				t.Fatalf("err = %v; want crypto/tls's %q", err, msg)
			}
			if !transport.IsCertificateError(err) {
				t.Errorf("%v is not a certificate error", err)
			}
			if n := len(inner.attempts()); n != 1 {
				t.Errorf("%d attempts, want 1 (not retried)", n)
			}
		})
	}
}
