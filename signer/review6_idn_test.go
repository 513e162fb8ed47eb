package signer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestSignIDNHostAsSent: net/http sends an internationalised host name in
// its ASCII (punycode) form, over HTTP/1.1 and HTTP/2 alike
// (httpguts.PunycodeHostPort), so host and @authority must be signed in
// that form, or the receiver, which sees the ASCII form, can never verify
// the signature.
func TestSignIDNHostAsSent(t *testing.T) {
	k := testKey(t, "k")
	comps := []Component{Method, Authority, Path, Field("host")}
	s := mustSigner(t, Options{Keys: StaticKey(k), Components: comps})
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Required: comps, AllowUnsignedBody: true, Clock: func() time.Time { return t0 }})
	for _, h2 := range []bool{false, true} {
		var accepted atomic.Int32
		srv := httptest.NewUnstartedServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Host != "xn--bcher-kva.example" {
				t.Errorf("Host on the wire %q", r.Host)
			}
			accepted.Add(1)
		})))
		srv.EnableHTTP2 = h2
		srv.StartTLS()
		req, err := http.NewRequest("GET", srv.URL+"/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "bücher.example"
		if err := s.Sign(context.Background(), req, t0); err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || accepted.Load() != 1 {
			t.Errorf("h2=%v: status %d, accepted %d; want the signature verified", h2, resp.StatusCode, accepted.Load())
		}
		srv.Close()
	}
}
