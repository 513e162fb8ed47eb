package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
)

// readAlertClosedConn returns a client connection whose TLS 1.3 handshake
// completed and which the server then closed with its refusal of the
// missing client certificate (certificate_required), as net/http's read
// loop leaves it: the alert read, the connection closed.
func readAlertClosedConn(t *testing.T) *tls.Conn {
	t.Helper()
	ca, err := testpki.NewCA("root")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Server("api.example.test")
	if err != nil {
		t.Fatal(err)
	}
	clientCA, err := testpki.NewCA("client root")
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{leaf.TLS}, MinVersion: tls.VersionTLS13,
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: testpki.Pool(clientCA),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		_ = c.(*tls.Conn).Handshake() // fails: no client certificate; the alert goes out
		c.Close()
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: testpki.Pool(ca), ServerName: "api.example.test"})
	if err != nil {
		t.Fatal(err) // TLS 1.3: the client's handshake completes before the server checks
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read on the refused connection succeeded")
	}
	c.Close()
	return c
}

// TestConnAlertRecoversTheRefusal: when net/http fails a request over a
// connection its read loop closed on the server's alert with the write's
// "use of closed network connection" (its read and write loops race),
// connAlert gets the alert back from the connection, so that the failure
// is a certificate error. Any other error, or a connection of another
// kind, is left as it is.
func TestConnAlertRecoversTheRefusal(t *testing.T) {
	c := readAlertClosedConn(t)
	closedWrite := fmt.Errorf("write: %w", net.ErrClosed)

	err := connAlert(c, closedWrite)
	if !IsCertificateError(err) || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("connAlert = %v: want the certificate_required alert added (IsCertificateError) and the write's error kept", err)
	}
	if IsCertificateError(closedWrite) {
		t.Fatal("the bare closed-connection error already counts as a certificate error: the test shows nothing")
	}
	for _, other := range []error{io.ErrUnexpectedEOF, errors.New("some failure")} {
		if got := connAlert(c, other); got != other {
			t.Errorf("connAlert(%v) = %v, want the error unchanged (not a closed connection)", other, got)
		}
	}
	if got := connAlert(nil, closedWrite); got != closedWrite {
		t.Errorf("no connection: %v, want the error unchanged", got)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got := connAlert(a, closedWrite); got != closedWrite {
		t.Errorf("a plain connection: %v, want the error unchanged", got)
	}
}

// TestBaseLearnsItsConnection: a Base used alone learns the connection a
// request went over (for connAlert) through a trace of its own, which
// keeps the caller's: the caller's GotConn hook is still called.
func TestBaseLearnsItsConnection(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	b, err := NewBase(BaseConfig{TLSConfig: &tls.Config{RootCAs: certPool(srv.Certificate())}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.CloseIdleConnections()
	var got net.Conn
	ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { got = i.Conn }})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := b.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, ok := got.(*tls.Conn); !ok {
		t.Fatalf("the caller's GotConn saw %T, want the *tls.Conn (the caller's trace was dropped)", got)
	}
}

func certPool(c *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c)
	return p
}

// TestBaseAloneCallsTheCallersHooksOnce: the trace a Base used alone adds
// to learn its connection keeps the caller's trace without calling any of
// its hooks twice (httptrace.WithClientTrace composes with the trace
// already in the context: a copy of the caller's trace composed with the
// caller's trace called every hook of it twice).
func TestBaseAloneCallsTheCallersHooksOnce(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	b, err := NewBase(BaseConfig{TLSConfig: &tls.Config{RootCAs: certPool(srv.Certificate())}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.CloseIdleConnections()
	var getConn, gotConn, connectDone, tlsDone, wroteHeaders, firstByte int
	ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
		GetConn:              func(string) { getConn++ },
		GotConn:              func(httptrace.GotConnInfo) { gotConn++ },
		ConnectDone:          func(string, string, error) { connectDone++ },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { tlsDone++ },
		WroteHeaders:         func() { wroteHeaders++ },
		GotFirstResponseByte: func() { firstByte++ },
	})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := b.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	for name, n := range map[string]int{"GetConn": getConn, "GotConn": gotConn, "ConnectDone": connectDone,
		"TLSHandshakeDone": tlsDone, "WroteHeaders": wroteHeaders, "GotFirstResponseByte": firstByte} {
		if n != 1 {
			t.Errorf("the caller's %s hook was called %d times, want 1", name, n)
		}
	}
}

// TestBaseAloneKeepsTheCallersRequest: the request copy a Base used alone
// sends (to learn its connection) does not replace the caller's request as
// resp.Request.
func TestBaseAloneKeepsTheCallersRequest(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	b, err := NewBase(BaseConfig{TLSConfig: &tls.Config{RootCAs: certPool(srv.Certificate())}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := b.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request != req {
		t.Fatal("resp.Request is not the caller's request")
	}
}
