package transport_test

import (
	"crypto/tls"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// AuthMTLS means a client certificate was configured on the base
// transport, however it was configured (BaseConfig.ClientCertificate,
// TLSConfig.Certificates, TLSConfig.GetClientCertificate), and the call
// got a response over TLS: crypto/tls does not report whether the server
// asked for it. Two real servers, one that requests a client certificate
// and one that does not: both calls are marked mtls; the second presented
// nothing (the certificate was never asked for), as the docs say.
func TestInventoryMTLSMeansConfigured(t *testing.T) {
	w := newPKIWorld(t)
	clientCA := pkiMust(testpki.NewCA("client root"))
	client := pkiMust(clientCA.Client("svc"))
	for _, via := range []string{"ClientCertificate", "Certificates", "GetClientCertificate"} {
		t.Run(via, func(t *testing.T) {
			for _, tc := range []struct {
				name      string
				request   bool
				presented int64
			}{{"server requests", true, 1}, {"server does not request", false, 0}} {
				srv := pkiServer(t, w.leaf.TLS, true, nil, func(c *tls.Config) {
					if tc.request {
						c.ClientAuth = tls.RequireAndVerifyClientCert
						c.ClientCAs = testpki.Pool(clientCA)
					}
				})
				var asked atomic.Int64
				cfg := transport.BaseConfig{TLSConfig: &tls.Config{}}
				switch via {
				case "ClientCertificate":
					cfg.ClientCertificate = pkiMust(transport.NewClientCertificateFromPEM(client.CertPEM, client.KeyPEM))
				case "Certificates":
					cfg.TLSConfig.Certificates = []tls.Certificate{client.TLS}
				case "GetClientCertificate":
					cfg.TLSConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
						asked.Add(1)
						return &client.TLS, nil
					}
				}
				b := pkiBase(t, cfg, srv, w.ca)
				inv := newInventory(t, transport.InventoryConfig{})
				if _, _, err := pkiGet(t, inventoryLayer(t, b, inv), "https://api.example.test/x"); err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				e, ok := findEntry(inv.Snapshot(), "GET", "https://api.example.test:443", "/x")
				if !ok || fmt.Sprint(e.Auth) != "[mtls]" {
					t.Errorf("%s: auth %v, want [mtls]", tc.name, e.Auth)
				}
				if via == "GetClientCertificate" && asked.Load() != tc.presented {
					t.Errorf("%s: the client certificate was asked for %d times, want %d", tc.name, asked.Load(), tc.presented)
				}
			}
		})
	}
}
