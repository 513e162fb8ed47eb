package signer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestSignIDNHostLookupForm: a host whose IDNA lookup form is not its
// plain punycode ("BÜCHER.example", "bücher。example") is signed in the
// lookup form ("xn--bcher-kva.example"), the Host securecall's base
// transport sends, and Sign sets req.Host to it so that net/http alone,
// which would send "xn--BCHER-2pa.example", sends what was signed too.
func TestSignIDNHostLookupForm(t *testing.T) {
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
		for i, host := range []string{"BÜCHER.example", "bücher。example"} {
			req, err := http.NewRequest("GET", srv.URL+"/x", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = host
			if err := s.Sign(context.Background(), req, t0); err != nil {
				t.Fatal(err)
			}
			if req.Host != "xn--bcher-kva.example" {
				t.Errorf("h2=%v, %q: Sign left req.Host %q", h2, host, req.Host)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || accepted.Load() != int32(i+1) {
				t.Errorf("h2=%v, %q: status %d; want the signature verified", h2, host, resp.StatusCode)
			}
		}
		srv.Close()
	}
}
