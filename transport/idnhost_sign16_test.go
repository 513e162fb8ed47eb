package transport_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/transport"
)

// TestSignedIDNHostVerifies: a signed request to a non-ASCII host whose
// IDNA lookup form is not its plain punycode ("BÜCHER.example.test",
// "bücher。example.test") is sent by the Base with the lookup form as its
// Host ("xn--bcher-kva.example.test"), so the signer, above the Base, must
// cover host and @authority in that form: signed in plain punycode
// ("xn--bcher-2pa.example.test", what net/http alone sent over HTTP/1.1)
// the server, which sees the lookup form, could never verify it.
func TestSignedIDNHostVerifies(t *testing.T) {
	w := newPKIWorld(t)
	const name = "xn--bcher-kva.example.test"
	leaf := pkiMust(w.ca.Server(name))
	comps := []signer.Component{signer.Method, signer.Authority, signer.Path, signer.Field("host")}
	s, err := signer.New(signer.Options{Keys: signer.StaticKey(signKey(t)), Components: comps})
	if err != nil {
		t.Fatal(err)
	}
	v, err := signer.NewVerifier(signer.VerifierOptions{Keys: signer.StaticKey(signKey(t)), Required: comps, AllowUnsignedBody: true, Scheme: "https"})
	if err != nil {
		t.Fatal(err)
	}
	for _, h2 := range []bool{false, true} {
		var verr atomic.Value
		srv := pkiServer(t, leaf.TLS, h2, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if _, err := v.Verify(r, time.Now()); err != nil {
				verr.Store(r.Host + ": " + err.Error())
				rw.WriteHeader(http.StatusUnauthorized)
				return
			}
			io.WriteString(rw, "ok")
		}), nil)
		for _, tc := range []struct{ url, host string }{
			{"https://BÜCHER.example.test/x", ""},
			{"https://bücher。example.test/x", ""},
			{"https://bücher.example.test/x", "BÜCHER.example.test"},
		} {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			var dials atomic.Int32
			dial := pkiDialTo(srv.Listener.Addr().String())
			b := pkiBase(t, transport.BaseConfig{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if dials.Add(1) > 2 {
					cancel()
				}
				return dial(ctx, network, addr)
			}}, srv, w.ca)
			rt, err := transport.NewSign(b, transport.SignConfig{Signer: s, Scope: mustOrigins(t, "https://bücher.example.test")})
			if err != nil {
				t.Fatal(err)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tc.host
			verr.Store("")
			resp, err := rt.RoundTrip(req)
			if err != nil {
				cancel()
				t.Errorf("h2 %v, %s (Host %q): %v", h2, tc.url, tc.host, err)
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			cancel()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("h2 %v, %s (Host %q): status %d, the server did not verify the signature: %v", h2, tc.url, tc.host, resp.StatusCode, verr.Load())
			}
		}
	}
}
