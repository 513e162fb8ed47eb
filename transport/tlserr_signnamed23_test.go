package transport_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// A client certificate key whose signer (an HSM, a KMS) failed the
// handshake came back over TLS 1.2 as the signer's bare error: a KMS
// client's "context deadline exceeded" read `Get "https://...": context
// deadline exceeded`, as if the API had not answered in time, though
// nothing was sent to it (over TLS 1.3 crypto/tls says "tls: failed to
// sign handshake: ..."). The message names the client certificate key now,
// over both versions; the signer's error stays in the chain and the call
// is classified as before (TestClientKeySignerFailure).
func TestClientKeySignerFailureNamesTheKey(t *testing.T) {
	w := newPKIWorld(t)
	clientCA := pkiMust(testpki.NewCA("client root"))
	client := pkiMust(clientCA.Client("svc"))
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			srv := pkiServer(t, w.leaf.TLS, true, nil, func(c *tls.Config) {
				c.ClientAuth = tls.RequireAndVerifyClientCert
				c.ClientCAs = testpki.Pool(clientCA)
				c.MaxVersion = version
			})
			cert := client.TLS
			cert.PrivateKey = &hsmKey{pub: client.Key.Public(), err: context.DeadlineExceeded}
			b := pkiBase(t, transport.BaseConfig{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}, srv, w.ca)
			_, _, err := pkiGet(t, b, "https://api.example.test/")
			if err == nil {
				t.Fatal("the call succeeded")
			}
			if !strings.Contains(err.Error(), "transport: client certificate key: ") {
				t.Errorf("%q does not say the client certificate key failed", err)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%v does not match the signer's error", err)
			}
		})
	}
}
