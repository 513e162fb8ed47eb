package client_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/securecall/securecall/client"
)

// WithTLSConfig clones the caller's configuration, but tls.Config.Clone
// is shallow: the clone shared NextProtos (and CipherSuites,
// CurvePreferences, Certificates) with the caller's, so a caller reusing
// its tls.Config for the next client (rewriting its ALPN list in place)
// changed the protocols an existing client offered, behind the HTTP/1.1
// choice New had made from them.
func TestWithTLSConfigSlicesCopiedAtNew(t *testing.T) {
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) }))
	ca, _ := testPKI()
	tc := testpkiTrust(ca)
	tc.NextProtos = []string{"http/1.1"}
	o := loopback()
	o[0] = client.WithTLSConfig(tc) // in place of loopback's, which trusts the same CA
	c, err := client.New(opts(o, client.WithOrigins(srv.URL))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc.NextProtos[0] = "h2" // the caller's next client: HTTP/2 only

	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("Do: %v (the client offered the caller's new ALPN list)", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "HTTP/1.1" {
		t.Fatalf("server saw %s, want HTTP/1.1 (asked at New)", body)
	}
}
