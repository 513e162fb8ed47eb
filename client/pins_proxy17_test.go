package client_test

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// TestPinsOnHTTPSProxyAccepted: the base transport makes the TLS handshake
// with an https:// proxy from its own configuration and enforces a pin set
// covering the proxy's name on the proxy's certificate (BaseConfig.Pins,
// security.md). New refused a set for the proxy of WithAllowedProxies as
// matching "no host the client may connect to over https"; it is accepted,
// and enforced: a proxy whose key is not pinned gets no CONNECT.
func TestPinsOnHTTPSProxyAccepted(t *testing.T) {
	ca, err := testpki.NewCA("proxy root")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Server("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	var connects atomic.Int64
	proxy := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		connects.Add(1)
		http.Error(rw, "no", http.StatusForbidden)
	}))
	proxy.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	proxy.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	proxy.StartTLS()
	t.Cleanup(proxy.Close)
	proxyURL, _ := url.Parse(proxy.URL) // https://127.0.0.1:port
	c, err := client.New(
		client.WithOrigins("https://api.example.test"),
		client.WithTLSConfig(&tls.Config{RootCAs: testpki.Pool(ca)}),
		client.WithProxy(http.ProxyURL(proxyURL)),
		client.WithAllowedProxies(proxyURL.Host),
		client.WithPins(pinSet(t, "api.example.test"), pinSet(t, "127.0.0.1")),
		client.WithMaxAttempts(1),
	)
	if err != nil {
		t.Fatalf("New with pins for the https:// proxy it may connect to: %v", err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/", nil)
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	if !errors.Is(err, transport.ErrPinMismatch) || connects.Load() != 0 {
		t.Fatalf("call through a proxy whose key is not pinned: %v after %d CONNECTs; want ErrPinMismatch before any", err, connects.Load())
	}
}
