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

// schemeRewrite sends a request for from's scheme with the scheme to
// (a layer between the inventory and the base: a client's WithCallLayer
// layer may send to another URL than it was given).
type schemeRewrite struct {
	next     http.RoundTripper
	from, to string
}

func (s schemeRewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == s.from {
		r := req.Clone(req.Context())
		r.URL.Scheme = s.to
		req = r
	}
	return s.next.RoundTrip(req)
}

// TestServerTLSOfTheRequestSent: whether a response's TLS state is the
// server's (f7b2bb3, serverTLS) is a matter of the request the base
// transport sent, not of the URL the inventory and the audit layer were
// given: a layer between them that upgrades http:// to https:// (an HSTS
// layer) made a call over TLS 1.3, pinned and with mTLS, listed as "tls"
// none while pinned and mtls; one that sends an https:// URL as http://
// through an https:// proxy, which the proxy sends on in clear, was listed
// as TLS 1.3.
func TestServerTLSOfTheRequestSent(t *testing.T) {

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
	for _, tc := range []struct {
		from, to, url, origin, path, body string
		tls, auth                         string
		pinned                            bool
	}{
		{"http", "https", "http://api.example.test/y", "http://api.example.test:80", "/y", "ok", "[TLS 1.3]", "[mtls]", true},
		{"https", "http", "https://origin.example.test/x", "https://origin.example.test:443", "/x", "origin", "[none]", "[none]", false},
	} {
		inv := newInventory(t, transport.InventoryConfig{})
		var log auditLog
		rt := inventoryLayer(t, auditLayer(t, schemeRewrite{b, tc.from, tc.to}, transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(&log, nil))}), inv)
		if _, body, err := pkiGet(t, rt, tc.url); err != nil || body != tc.body {
			t.Fatalf("GET %s sent as %s: %v %q", tc.url, tc.to, err, body)
		}
		e, ok := findEntry(inv.Snapshot(), "GET", tc.origin, tc.path)
		if !ok || fmt.Sprint(e.TLS) != tc.tls || e.Pinned != tc.pinned || fmt.Sprint(e.Auth) != tc.auth {
			t.Errorf("%s sent as %s: found %v tls %v pinned %v auth %v; want %s %v %s", tc.url, tc.to, ok, e.TLS, e.Pinned, e.Auth, tc.tls, tc.pinned, tc.auth)
		}
		recs := log.records(t)
		if len(recs) != 1 {
			t.Fatalf("%d audit records, want 1", len(recs))
		}
		v, hasTLS := recs[0][transport.AuditTLS]
		if hasTLS != (tc.tls != "[none]") || hasTLS && v != "1.3" {
			t.Errorf("%s sent as %s: audit record %v", tc.url, tc.to, recs[0])
		}
	}
}
