package transport

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
)

// refusedTLS13Conn returns the client side of a TLS 1.3 connection to a
// real server over loopback TCP that requires a client certificate and
// got none: the client's handshake completed, the server's failed, and
// the server sent its alert (certificate_required) and closed. Then the
// client writes until a write fails, as net/http's HTTP/2 transport does
// when it sends its first request's frames; that write error is returned.
func refusedTLS13Conn(t *testing.T) (*tls.Conn, error) { return deadTLS13Conn(t, true) }

// deadTLS13Conn is refusedTLS13Conn when refuse is set; otherwise the
// server accepts the handshake (asking for no certificate), then resets
// the connection (SO_LINGER 0: no alert, no FIN), as a crashing or
// overloaded server or a middlebox would.
func deadTLS13Conn(t *testing.T, refuse bool) (*tls.Conn, error) {
	t.Helper()
	ca, err := testpki.NewCA("root")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Server("api.example.test")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		cfg := &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, MinVersion: tls.VersionTLS13}
		if refuse {
			cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, testpki.Pool(ca)
		}
		err = tls.Server(c, cfg).Handshake()
		if !refuse {
			c.(*net.TCPConn).SetLinger(0)
		}
		c.Close()
		served <- err
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := tls.Client(raw, &tls.Config{ServerName: "api.example.test", RootCAs: testpki.Pool(ca)})
	t.Cleanup(func() { c.Close() })
	if err := c.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-served; refuse != (err != nil) {
		t.Fatalf("server handshake: %v", err)
	}
	buf := make([]byte, 16<<10)
	for range 1000 {
		if _, err := c.Write(buf); err != nil {
			return c, err
		}
	}
	t.Fatal("writes to the closed connection kept succeeding")
	return nil, nil
}

// Over HTTP/2 with TLS 1.3, a server refusing the client certificate
// sends its alert after the client's handshake completed; when the first
// request's write on the new connection fails before anything read the
// alert, net/http reports the failed write. The alert, still in the
// connection, must come back with that error: a certificate error, not
// retried, not counted by the breaker.
func TestH2FirstRequestFailedWriteGetsTheAlert(t *testing.T) {
	c, werr := refusedTLS13Conn(t)
	if _, ok := errors.AsType[*net.OpError](werr); !ok {
		t.Fatalf("write error %T %v, want a *net.OpError", werr, werr)
	}
	b := &Base{}
	rt := &h2FirstRT{next: &h2StubRT{err: werr}, conn: c, authority: "api.example.test:443", b: b}
	req, _ := http.NewRequest("GET", "https://api.example.test/", nil)
	_, err := rt.RoundTrip(req)
	if !IsCertificateError(err) {
		t.Fatalf("%v is not a certificate error", err)
	}
	if !errors.Is(err, werr) {
		t.Errorf("%v does not wrap the write error", err)
	}
	if _, ok := b.h2alerts.Load("api.example.test:443"); !ok {
		t.Error("the alert is not remembered for the connection's authority")
	}
}

// A failed write on another connection (the HTTP/2 transport may send the
// first request over an older pooled one) never reads this one: it is
// alive, and a read deadline would end its read loop.
func TestH2FailedWriteOnAnotherConnLeavesThisOneAlone(t *testing.T) {
	c, _ := refusedTLS13Conn(t) // dead, with an alert waiting: a read would find it
	other := &net.OpError{Op: "write", Net: "tcp",
		Source: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1},
		Addr:   &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2},
		Err:    errors.New("write: connection reset by peer")}
	b := &Base{}
	rt := &h2FirstRT{next: &h2StubRT{err: other}, conn: c, authority: "api.example.test:443", b: b}
	req, _ := http.NewRequest("GET", "https://api.example.test/", nil)
	_, err := rt.RoundTrip(req)
	if err != other {
		t.Fatalf("got %v, want the other connection's error unchanged", err)
	}
	if _, ok := b.h2alerts.Load("api.example.test:443"); ok {
		t.Error("an alert was read from a connection the request did not use")
	}
}

// An ordinary reset of a new connection (no alert) stays what it was: the
// read back finds no alert, and the error is unchanged.
func TestH2FirstRequestFailedWriteWithoutAlertIsUnchanged(t *testing.T) {
	c, werr := deadTLS13Conn(t, false)
	b := &Base{}
	rt := &h2FirstRT{next: &h2StubRT{err: werr}, conn: c, authority: "api.example.test:443", b: b}
	req, _ := http.NewRequest("GET", "https://api.example.test/", nil)
	_, err := rt.RoundTrip(req)
	if err != werr {
		t.Fatalf("got %v, want the write error %v unchanged", err, werr)
	}
	if IsCertificateError(err) {
		t.Errorf("%v is a certificate error", err)
	}
	if _, ok := b.h2alerts.Load("api.example.test:443"); ok {
		t.Error("an alert was remembered for a plain reset")
	}
}
