package transport

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

type h2StubRT struct{ err error }

func (s *h2StubRT) RoundTrip(*http.Request) (*http.Response, error) {
	if s.err != nil {
		return nil, s.err
	}
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
}

// net/http keeps the persistConn of a connection it dialed for HTTP/2 in
// its idle list and hands it to later requests when no pooled HTTP/2
// connection can take one (every one at its stream limit): those requests
// go through the wrapper of the first connection, while the HTTP/2
// transport dials another. That other connection failing before its first
// stream must not set a read deadline on the first one, alive and carrying
// streams: only the request that dialed the connection reads it back.
func TestH2AlertNeverReadsALiveConnForALaterRequest(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS() // for its certificate
	srv.Close()
	cc, sc := net.Pipe()
	defer cc.Close()
	defer sc.Close()
	client := tls.Client(cc, &tls.Config{InsecureSkipVerify: true})
	server := tls.Server(sc, &tls.Config{Certificates: srv.TLS.Certificates})
	done := make(chan error, 1)
	go func() { done <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	stub := &h2StubRT{}
	rt := &h2FirstRT{next: stub, conn: client, authority: "h:443", b: &Base{}}
	req, _ := http.NewRequest("GET", "https://h/", nil)
	if _, err := rt.RoundTrip(req); err != nil { // the first request: sent
		t.Fatal(err)
	}
	stub.err = errors.New(h2NotEstablished) // another connection's failure
	if _, err := rt.RoundTrip(req); err == nil {
		t.Fatal("no error")
	}
	go server.Write([]byte("x"))
	var p [1]byte
	if _, err := io.ReadFull(client, p[:]); err != nil {
		t.Errorf("the live connection after a later request's failure: %v", err)
	}
}
