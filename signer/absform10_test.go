package signer_test

import (
	"bytes"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/securecall/securecall/signer"
)

// A client sending an http:// request through an HTTPS forward proxy sends
// the absolute-form target over TLS. The target URI is the absolute-form
// (RFC 9110 §7.1), so a verifying proxy derives @scheme, @target-uri and
// the default-port rule of @authority from it, not from the connection.
func TestVerifierAbsoluteFormSchemeFromTarget(t *testing.T) {
	key, err := signer.NewHMACKey("k", bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	comps := []signer.Component{signer.Method, signer.Scheme, signer.Authority, signer.TargetURI, signer.Path, signer.Query}
	s, err := signer.New(signer.Options{Keys: signer.StaticKey(key), Components: comps})
	if err != nil {
		t.Fatal(err)
	}
	v, err := signer.NewVerifier(signer.VerifierOptions{Keys: signer.StaticKey(key)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	proxy := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.RequestURI)
		if _, err := v.Verify(r, time.Now()); err != nil {
			t.Errorf("proxy verify %s: %v", r.RequestURI, err)
		}
	}))
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	tr := proxy.Client().Transport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(pu)
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	c := &http.Client{Transport: tr}
	req, _ := http.NewRequest("GET", "http://api.example.test/x?y=1", nil)
	if err := s.Sign(t.Context(), req, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(got) != 1 || got[0] != "http://api.example.test/x?y=1" {
		t.Fatalf("proxy saw %q, want one absolute-form target", got)
	}

	// A signature made for https://api.example.test/x, replayed to the
	// proxy as an http:// target over TLS, names another target.
	req2, _ := http.NewRequest("GET", "https://api.example.test/x?y=1", nil)
	if err := s.Sign(t.Context(), req2, time.Now()); err != nil {
		t.Fatal(err)
	}
	in := httptest.NewRequest("GET", "http://api.example.test/x?y=1", nil)
	in.TLS = &tls.ConnectionState{}
	in.Header = req2.Header.Clone()
	if _, err := v.Verify(in, time.Now()); err == nil {
		t.Fatal("a signature for an https target verified for an http absolute-form target")
	}
}
