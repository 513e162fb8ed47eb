package client_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/client"
)

// A RootCAs pool with no certificate (AppendCertsFromPEM's false left
// unchecked) trusts no server: every call would fail with "certificate
// signed by unknown authority". New refuses it, naming the option that
// carried it.
func TestTLSOptionsRefuseEmptyRootCAs(t *testing.T) {
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	empty := func() *tls.Config {
		p := x509.NewCertPool()
		p.AppendCertsFromPEM(srv.Certificate().Raw) // DER: nothing added
		return &tls.Config{RootCAs: p}
	}
	for _, tc := range []struct {
		option string
		opt    client.Option
	}{
		{"WithTLSConfig", client.WithTLSConfig(empty())},
		{"WithBaseTransport", client.WithBaseTransport(&http.Transport{TLSClientConfig: empty()})},
	} {
		t.Run(tc.option, func(t *testing.T) {
			c, err := client.New(client.WithOrigins(srv.URL), tc.opt)
			if err == nil {
				defer c.Close()
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
				resp, derr := c.Do(req)
				if derr == nil {
					resp.Body.Close()
				}
				t.Fatalf("New accepted a RootCAs pool with no certificate; a call: %v", derr)
			}
			ce, ok := errors.AsType[*client.ConfigError](err)
			if !ok || ce.Option != tc.option || errors.Is(err, client.ErrInsecureTLS) {
				t.Fatalf("New: %v, want a *ConfigError naming %s (not ErrInsecureTLS)", err, tc.option)
			}
		})
	}
}
