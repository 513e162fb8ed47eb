package transport_test

import (
	"crypto/tls"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// TestHTTPSProxyHandshakeUsesBaseTLS pins down what BaseConfig documents:
// with an https:// proxy URL, net/http makes the TLS handshake with the
// proxy from the Base's own TLS configuration, so the ClientCertificate is
// offered to a proxy that asks for one, and a pin set covering the proxy's
// name is enforced on the proxy's certificate.
func TestHTTPSProxyHandshakeUsesBaseTLS(t *testing.T) {
	w := newPKIWorld(t)
	proxyLeaf := pkiMust(w.ca.Server("proxy.example.test"))
	var certs, connects atomic.Int64
	proxy := pkiServer(t, proxyLeaf.TLS, false, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect {
			connects.Add(1)
		}
		certs.Add(int64(len(r.TLS.PeerCertificates)))
		http.Error(rw, "no", http.StatusForbidden)
	}), func(c *tls.Config) { c.ClientAuth = tls.RequestClientCert })
	proxyURL, _ := url.Parse("https://proxy.example.test:443")
	cfg := transport.BaseConfig{
		ClientCertificate: newTestClientCert(t),
		Proxy:             http.ProxyURL(proxyURL),
		DialContext:       pkiDialTo(proxy.Listener.Addr().String()),
	}

	b := pkiBase(t, cfg, nil, w.ca)
	if _, _, err := pkiGet(t, b, "https://api.example.test/"); err == nil {
		t.Fatal("the proxy refused the CONNECT; want an error")
	}
	if connects.Load() != 1 || certs.Load() == 0 {
		t.Errorf("proxy saw %d CONNECTs with %d client certificates; want the client certificate offered to it", connects.Load(), certs.Load())
	}

	connects.Store(0)
	other := pkiMust(testpki.NewCA("other root"))
	cfg.Pins = []transport.PinSet{{Host: "*.example.test", Pins: []string{testpki.Pin(other.Cert), testpki.Pin(w.attackerCA.Cert)}}}
	b = pkiBase(t, cfg, nil, w.ca)
	_, _, err := pkiGet(t, b, "https://api.example.test/")
	if !transport.IsCertificateError(err) || connects.Load() != 0 {
		t.Errorf("pins covering the proxy's name: %v after %d CONNECTs; want a certificate error before any", err, connects.Load())
	}
}
