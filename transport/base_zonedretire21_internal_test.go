package transport

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/internal/testpki"
)

// TestZonedTransportRetiredClosesIdleConnections: after a client
// certificate rotation, a zoned IPv6 host's next call gets a transport
// made for the new certificate and the old one is retired; its idle
// connections, which no call will take again, are closed at once, as the
// Base's own retired transport's are, instead of staying open until the
// server or the idle timeout (90 s) closes them.
func TestZonedTransportRetiredClosesIdleConnections(t *testing.T) {
	if _, err := net.InterfaceByName("lo"); err != nil {
		t.Skip("no loopback interface named lo:", err)
	}
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	ca, err := testpki.NewCA("root")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Server("::1")
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{}, 8)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	srv.Listener.Close()
	srv.Listener = l
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	srv.StartTLS()
	defer srv.Close()
	zoned := "https://[::1%25lo]:" + srv.URL[strings.LastIndexByte(srv.URL, ':')+1:] + "/"

	b, err := NewBase(BaseConfig{TLSConfig: &tls.Config{RootCAs: testpki.Pool(ca), NextProtos: []string{"http/1.1"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.CloseIdleConnections()
	get := func() {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, zoned, nil)
		resp, err := b.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get() // a connection, idle in the zoned host's transport
	b.ccGen.Add(1)
	get() // a new transport; the old one retired
	select {
	case <-closed:
	case <-time.After(30 * time.Second): // a bound on a hang, not a timing
		t.Fatal("the retired zoned transport's idle connection is still open")
	}
}
