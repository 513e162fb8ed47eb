package transport_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// dropHandshakes drops the first connections it accepts in the TLS
// handshake: it reads the client's first TLS record (the ClientHello)
// and closes the connection, with a reset (SetLinger(0)) or a FIN, as an
// overloaded TLS terminator or a load balancer shedding new connections
// does. The later connections are handed to the server.
type dropHandshakes struct {
	net.Listener
	left    atomic.Int32 // connections still to drop
	reset   bool
	dropped atomic.Int32
}

func (l *dropHandshakes) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || l.left.Add(-1) < 0 {
			return c, err
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second)) // a safety net, no assertion
		var hdr [5]byte
		if _, err := io.ReadFull(c, hdr[:]); err == nil {
			io.CopyN(io.Discard, c, int64(hdr[3])<<8|int64(hdr[4]))
		}
		if l.reset {
			c.(*net.TCPConn).SetLinger(0)
		}
		c.Close()
		l.dropped.Add(1)
	}
}

func handshakeResetClient(t *testing.T, srv *httptest.Server) (http.RoundTripper, *countingRT) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	b, err := transport.NewBase(transport.BaseConfig{TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.CloseIdleConnections)
	inner := &countingRT{next: b}
	rt, err := transport.NewRetry(inner, transport.RetryConfig{MaxAttempts: 3, BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	return rt, inner
}

// A server (a TLS terminator, a load balancer) that resets or closes a
// new connection during the TLS handshake fails the attempt with
// crypto/tls's ECONNRESET or EOF before net/http handed the connection
// to the request: no byte of it was written, yet the failure was
// classified ambiguous and a POST reported not_replayable, never sent
// again. It is never sent (a failure of the host for its breaker), and
// the POST succeeds on its second attempt. A reset after the server read
// the request stays ambiguous: the POST is not sent again.
func TestTLSHandshakeResetIsNeverSent(t *testing.T) {
	for _, tc := range []struct {
		name         string
		reset, http2 bool
	}{
		{"reset", true, false},
		{"close", false, false},
		{"reset-h2", true, true},
		{"close-h2", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				b, _ := io.ReadAll(r.Body)
				w.Write(b)
			}))
			ln := &dropHandshakes{Listener: srv.Listener, reset: tc.reset}
			ln.left.Store(1)
			srv.Listener = ln
			srv.EnableHTTP2 = tc.http2
			srv.StartTLS()
			t.Cleanup(srv.Close)
			rt, inner := handshakeResetClient(t, srv)

			req, _ := http.NewRequest("POST", srv.URL+"/pay", strings.NewReader("payment"))
			resp, err := rt.RoundTrip(req)
			errs := inner.attempts()
			if err != nil {
				t.Fatalf("POST after a dropped handshake: %v (attempts %v)", err, errs)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "payment" || calls.Load() != 1 || ln.dropped.Load() != 1 {
				t.Errorf("body %q, %d requests served, %d handshakes dropped; want payment, 1, 1", body, calls.Load(), ln.dropped.Load())
			}
			if len(errs) != 2 || errs[0] == nil || errs[1] != nil {
				t.Fatalf("attempts %v, want a failure then a success", errs)
			}
			v := transport.Classify(context.Background(), nil, errs[0], time.Now())
			if v.Class != transport.ClassNeverSent || v.Breaker != transport.BreakerFailure {
				t.Errorf("%v classified %+v, want never_sent, a breaker failure", errs[0], v)
			}
		})
	}

	for _, tc := range []struct {
		name  string
		reset bool
	}{{"read-then-reset", true}, {"read-then-close", false}} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				io.ReadAll(r.Body)
				c, _, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				if tc.reset {
					c.(*tls.Conn).NetConn().(*net.TCPConn).SetLinger(0)
					c.(*tls.Conn).NetConn().Close()
					return
				}
				c.Close()
			}))
			srv.StartTLS()
			t.Cleanup(srv.Close)
			rt, inner := handshakeResetClient(t, srv)

			req, _ := http.NewRequest("POST", srv.URL+"/pay", strings.NewReader("payment"))
			if resp, err := rt.RoundTrip(req); err == nil {
				resp.Body.Close()
				t.Fatal("the call succeeded")
			}
			errs := inner.attempts()
			if len(errs) != 1 || calls.Load() != 1 {
				t.Fatalf("%d attempts, %d requests served, want 1 and 1: %v", len(errs), calls.Load(), errs)
			}
			v := transport.Classify(context.Background(), nil, errs[0], time.Now())
			if v.Class != transport.ClassAmbiguous || v.Breaker != transport.BreakerFailure {
				t.Errorf("%v classified %+v, want ambiguous, a breaker failure", errs[0], v)
			}
		})
	}
}
