package transport_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// TestPlainHTTPThroughHTTPSProxyIsNotTLS: an http:// call sent through an
// https:// proxy travels in clear from the proxy to the origin; net/http
// hands back the proxy's TLS state in resp.TLS. The inventory ("tls":
// "none for plain http") and the audit log must not list the call as made
// over TLS, pinned (the pins covered the proxy's name) or authenticated by
// the client certificate (which only the proxy was offered). An https://
// call through the same proxy (a CONNECT tunnel, TLS with the origin) is
// still TLS, pinned and mtls.
func TestPlainHTTPThroughHTTPSProxyIsNotTLS(t *testing.T) {
	w := newPKIWorld(t)
	origin := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		io.WriteString(rw, "origin")
	}))
	t.Cleanup(origin.Close)
	tlsOrigin := pkiServer(t, w.leaf.TLS, false, nil, nil)
	proxyLeaf := pkiMust(w.ca.Server("proxy.example.test"))
	proxy := pkiServer(t, proxyLeaf.TLS, false, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect {
			// Tunnel to the TLS origin.
			dst, err := net.Dial("tcp", tlsOrigin.Listener.Addr().String())
			if err != nil {
				http.Error(rw, err.Error(), http.StatusBadGateway)
				return
			}
			rw.WriteHeader(http.StatusOK)
			c, buf, err := http.NewResponseController(rw).Hijack()
			if err != nil {
				dst.Close()
				return
			}
			go func() { io.Copy(dst, buf); dst.Close() }()
			io.Copy(c, dst)
			c.Close()
			return
		}
		if !r.URL.IsAbs() || r.URL.Scheme != "http" {
			http.Error(rw, "want an absolute http URL", http.StatusBadRequest)
			return
		}
		resp, err := http.Get(origin.URL + r.URL.RequestURI())
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		rw.WriteHeader(resp.StatusCode)
		io.Copy(rw, resp.Body)
	}), func(c *tls.Config) { c.ClientAuth = tls.RequestClientCert })
	proxyURL, _ := url.Parse("https://proxy.example.test:443")
	other := pkiMust(testpki.NewCA("other root"))
	b := pkiBase(t, transport.BaseConfig{
		ClientCertificate: newTestClientCert(t),
		Proxy:             http.ProxyURL(proxyURL),
		DialContext:       pkiDialTo(proxy.Listener.Addr().String()),
		Pins:              []transport.PinSet{{Host: "*.example.test", Pins: []string{testpki.Pin(w.ca.Cert), testpki.Pin(other.Cert)}}},
	}, nil, w.ca)
	inv := newInventory(t, transport.InventoryConfig{})
	var log auditLog
	rt := inventoryLayer(t, auditLayer(t, b, transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(&log, nil))}), inv)
	resp, body, err := pkiGet(t, rt, "http://origin.example.test/x")
	if err != nil || body != "origin" || resp.TLS == nil {
		t.Fatalf("GET http:// through the proxy: %v %q (resp.TLS %v: net/http gives the proxy's)", err, body, resp != nil && resp.TLS != nil)
	}
	if _, body, err := pkiGet(t, rt, "https://api.example.test/y"); err != nil || body != "ok" {
		t.Fatalf("GET https:// through the proxy: %v %q", err, body)
	}
	snap := inv.Snapshot()
	e, ok := findEntry(snap, "GET", "http://origin.example.test:80", "/x")
	if !ok {
		t.Fatalf("no entry for the http:// call: %+v", snap.Entries)
	}
	if fmt.Sprint(e.TLS) != "[none]" || e.Pinned || fmt.Sprint(e.Auth) != "[none]" {
		t.Errorf("http:// call through an https:// proxy: tls %v pinned %v auth %v; want [none] false [none]", e.TLS, e.Pinned, e.Auth)
	}
	e, ok = findEntry(snap, "GET", "https://api.example.test:443", "/y")
	if !ok || fmt.Sprint(e.TLS) != "[TLS 1.3]" || !e.Pinned || fmt.Sprint(e.Auth) != "[mtls]" {
		t.Errorf("https:// call through an https:// proxy: found %v tls %v pinned %v auth %v; want [TLS 1.3] true [mtls]", ok, e.TLS, e.Pinned, e.Auth)
	}
	recs := log.records(t)
	if len(recs) != 2 {
		t.Fatalf("%d audit records, want 2: %s", len(recs), log.String())
	}
	if v, ok := recs[0][transport.AuditTLS]; ok || recs[0][transport.AuditAuth] != "none" {
		t.Errorf("audit record of the http:// call: %s %v, %s %v; want no TLS version, auth none", transport.AuditTLS, v, transport.AuditAuth, recs[0][transport.AuditAuth])
	}
	if recs[1][transport.AuditTLS] != "1.3" || recs[1][transport.AuditPinned] != true {
		t.Errorf("audit record of the https:// call: %v", recs[1])
	}
}
