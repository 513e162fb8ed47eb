package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/signer"
)

// TestIDNHostOverOwnHTTP2BaseTransportDialsOnce: a call to a non-ASCII
// host whose IDNA lookup form ("xn--bcher-kva.example.test") is not its
// plain punycode ("BÜCHER", "。" for a dot, a decomposed "ü", a full-width
// "ｂ") through a WithBaseTransport of the caller's own (an
// *http.Transport with HTTP/2) was dialed again and again until its
// context ended: net/http pools the HTTP/2 connection under the lookup
// form and looks it up under plain punycode (golang/go#80417, #81010).
// The client sends it in the lookup form from its entry on, so the call
// makes one dial, its signature verifies and the egress allowlist (the
// lower-case punycode) and credential scope (the origin) accept it.
func TestIDNHostOverOwnHTTP2BaseTransportDialsOnce(t *testing.T) {
	const want = "xn--bcher-kva.example.test"
	ca := pkiMustClient(testpki.NewCA("idn own base"))
	leaf := pkiMustClient(ca.Server(want))
	keys := hmacKeys(t)
	v, err := signer.NewVerifier(signer.VerifierOptions{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto+" "+r.Host)
	})))
	srv.EnableHTTP2 = true
	srv.TLS = testTLS(leaf)
	srv.Config.ErrorLog = quietLog()
	srv.StartTLS()
	t.Cleanup(srv.Close)

	for name, url := range map[string]string{
		"upper case":      "https://BÜCHER.example.test/x",
		"ideographic dot": "https://bücher。example.test/x",
		"decomposed":      "https://bu\u0308cher.example.test/x",
		"full width":      "https://\uff42ücher.example.test/x",
	} {
		t.Run(name, func(t *testing.T) {
			var dials atomic.Int32
			var d net.Dialer
			tr := &http.Transport{
				ForceAttemptHTTP2: true,
				TLSClientConfig:   &tls.Config{RootCAs: testpki.Pool(ca)},
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					dials.Add(1)
					return d.DialContext(ctx, network, srv.Listener.Addr().String())
				},
			}
			defer tr.CloseIdleConnections()
			c, err := client.New(client.WithBaseTransport(tr),
				client.WithOrigins("https://bücher.example.test"),
				client.WithEgressAllowlist(want),
				client.WithHMACSigning(keys))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("call: %v after %d dials", err, dials.Load())
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if n := dials.Load(); n != 1 || resp.StatusCode != http.StatusOK || string(body) != "HTTP/2.0 "+want {
				t.Fatalf("%d dials, %s, body %q; want 1 dial, 200 (signature verified), HTTP/2 with Host %s", n, resp.Status, body, want)
			}
			if host := url[len("https://") : len(url)-len("/x")]; req.URL.Host != host || req.Host != host || resp.Request.URL.Host != host {
				t.Fatalf("the caller's request was modified (URL host %q, Host %q) or resp.Request is not the caller's (URL host %q)", req.URL.Host, req.Host, resp.Request.URL.Host)
			}
		})
	}
}

// TestNonASCIIZoneRefusedWithOwnBaseTransport: an IPv6 literal with a
// non-ASCII zone, which net/http's HTTP/2 transport keys with its brackets
// and its dial without, is refused before anything is dialed
// (ErrInvalidRequest), through a WithBaseTransport of the caller's own as
// through the hardened base.
func TestNonASCIIZoneRefusedWithOwnBaseTransport(t *testing.T) {
	var dials atomic.Int32
	tr := &http.Transport{
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return nil, errors.New("no dial")
		},
	}
	c, err := client.New(client.WithBaseTransport(tr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://[fe80::1%25Ü]:8443/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	if !errors.Is(err, client.ErrInvalidRequest) || dials.Load() != 0 {
		t.Fatalf("%v after %d dials; want ErrInvalidRequest and none", err, dials.Load())
	}
}
