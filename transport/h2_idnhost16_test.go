package transport_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// TestBaseIDNHostNotRedialedForever: over HTTP/2, a request to an
// internationalised name whose IDNA lookup form is not its plain punycode
// ("BÜCHER.example.test", any upper-case letter, "bücher。example.test",
// a decomposed "bu\u0308cher") was dialed again and again, one new
// connection after another, until the request's context ended (forever
// without a deadline). net/http dials and pools the connection under the
// name's idna.Lookup form (transport.go canonicalAddr) while its HTTP/2
// transport looks it up under idna.ToASCII's (h2_bundle.go
// http2authorityAddr), never finds it and falls back to a new dial. Over
// HTTP/1.1 the same split sent a Host that is not the dialed name
// ("xn--Bcher-kva.example.test", "xn--bcherexample-dlb0569n.test"). The
// Base sends such a request with its host in the lookup form, so one
// connection serves it and the Host is the dialed name; the caller's
// request is not changed.
func TestBaseIDNHostNotRedialedForever(t *testing.T) {
	w := newPKIWorld(t)
	leaf := pkiMust(w.ca.Server("xn--bcher-kva.example.test"))
	for _, h2 := range []bool{true, false} {
		var gotHost atomic.Value
		srv := pkiServer(t, leaf.TLS, h2, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			gotHost.Store(r.Host)
			io.WriteString(rw, "ok")
		}), nil)
		const name = "xn--bcher-kva.example.test"
		for _, tc := range []struct{ url, host, want string }{
			{"https://BÜCHER.example.test/x", "", name},
			{"https://Bücher.example.test/x", "", name},
			{"https://bücher.EXAMPLE.test:443/x", "", name + ":443"},
			{"https://bücher。example.test/x", "", name},
			{"https://bu\u0308cher.example.test/x", "", name},
			{"https://bücher.example.test/x", "BÜCHER.example.test", name}, // a Host of the caller's
		} {
			// The request ends at its third dial (the deadline is only a
			// backstop): the defect dials without end.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			var dials atomic.Int32
			dial := pkiDialTo(srv.Listener.Addr().String())
			b := pkiBase(t, transport.BaseConfig{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if dials.Add(1) > 2 {
					cancel()
				}
				return dial(ctx, network, addr)
			}}, srv, w.ca)
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tc.host
			urlHost := req.URL.Host
			resp, err := b.RoundTrip(req)
			if err != nil {
				cancel()
				t.Errorf("h2 %v, %s (Host %q): %v after %d dials", h2, tc.url, tc.host, err, dials.Load())
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			cancel()
			if n := dials.Load(); n != 1 || string(body) != "ok" || (resp.ProtoMajor == 2) != h2 {
				t.Errorf("h2 %v, %s: %d dials, body %q, %s; want 1 dial", h2, tc.url, n, body, resp.Proto)
			}
			if got := gotHost.Load(); got != tc.want {
				t.Errorf("h2 %v, %s (Host %q): the server got Host %q, want %q", h2, tc.url, tc.host, got, tc.want)
			}
			if resp.Request != req || req.URL.Host != urlHost || req.Host != tc.host {
				t.Errorf("h2 %v, %s: the caller's request changed (URL host %q, Host %q) or is not resp.Request", h2, tc.url, req.URL.Host, req.Host)
			}
		}
	}
}

// TestBaseNonASCIIZoneRefused: an IPv6 literal with a non-ASCII zone
// ("[fe80::1%Ü]", a hand-built URL.Host) is keyed by net/http's HTTP/2
// transport with its brackets and by its dial without, so over a dialer
// or proxy that connects it was redialed forever too; no interface has
// such a name, and it is refused before anything is dialed.
func TestBaseNonASCIIZoneRefused(t *testing.T) {
	var dials atomic.Int32
	b := pkiMust(transport.NewBase(transport.BaseConfig{DialContext: func(context.Context, string, string) (net.Conn, error) {
		dials.Add(1)
		return nil, errors.New("no dial expected")
	}}))
	defer b.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, "https://[fe80::1]/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Host = "[fe80::1%Ü]"
	if _, err := b.RoundTrip(req); !errors.Is(err, transport.ErrInvalidRequest) || dials.Load() != 0 {
		t.Fatalf("non-ASCII zone: %v after %d dials, want ErrInvalidRequest and none", err, dials.Load())
	}
}
