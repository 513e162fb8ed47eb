package client_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// A call in flight across many client certificate rotations (more than
// the Base remembers replaced transports of) still has its connection
// closed once it ends after Close: the transport it was sent over is one
// the Base no longer lists, and closing the Base's idle connections did
// not reach it, so the connection stayed open until the idle timeout.
func TestCloseClosesConnectionOfCallAcrossManyRotations(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "HTTP/1.1", true: "HTTP/2"}[h2], func(t *testing.T) {
			started := make(chan struct{}, 1)
			release := make(chan struct{})
			srv, conns := newConnCountingServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/slow" {
					started <- struct{}{}
					<-release
				}
				io.WriteString(w, "ok")
			}))
			clientCA := pkiMustC(testpki.NewCA("client root"))
			leaf := func() *testpki.Leaf { return pkiMustC(clientCA.Client("svc")) }
			first := leaf()
			cc := pkiMustC(transport.NewClientCertificateFromPEM(first.CertPEM, first.KeyPEM))
			c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), client.WithClientCertificate(cc))...)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				resp, err := c.HTTPClient().Get(srv.URL + "/slow")
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				done <- err
			}()
			<-started
			for range 6 { // more than the Base keeps replaced transports of
				l := leaf()
				if err := cc.Update(l.CertPEM, l.KeyPEM); err != nil {
					t.Fatal(err)
				}
				resp, err := c.HTTPClient().Get(srv.URL + "/")
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			close(release)
			if err := <-done; err != nil {
				t.Fatalf("call in flight across the rotations: %v", err)
			}
			waitConnsClosed(t, conns)
		})
	}
}

func pkiMustC[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
