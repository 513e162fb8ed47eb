package client_test

import (
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
)

// A client certificate of WithTLSConfig's Certificates (or of the
// TLSClientConfig of a WithBaseTransport *http.Transport) that has expired,
// or is a server certificate (no clientAuth), is refused at New naming the
// option, as WithClientCertificateFiles refuses such files: every server
// verifying client certificates would refuse it on every handshake.
func TestTLSConfigUnusableClientCertificateRefused(t *testing.T) {
	ca, server := testPKI()
	expired, err := ca.Issue(testpki.LeafOptions{Names: []string{"svc"}, Client: true,
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []tls.Certificate{expired.TLS, server.TLS} {
		wantConfigError(t, "WithTLSConfig", client.WithTLSConfig(&tls.Config{Certificates: []tls.Certificate{c}}))
		wantConfigError(t, "WithBaseTransport", client.WithBaseTransport(&http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{c}}}))
	}
}
