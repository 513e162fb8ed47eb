package transport

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/securecall/securecall/internal/hostname"
)

// h2NotEstablished is the message of net/http's HTTP/2 error for a request
// given a connection that closed before any request was sent on it.
const h2NotEstablished = "http2: client conn could not be established"

// watchH2 sets up t's HTTP/2 support (net/http does it lazily, on first
// use) and wraps it so that the TLS alert which closes a new HTTP/2
// connection before its first request reaches the caller.
//
// With TLS 1.3 the client's handshake completes before the server has
// checked the client certificate: a server refusing it (or refusing to go
// on without one) sends its alert ("bad certificate", "unknown certificate
// authority", "certificate required") after the handshake, and the
// connection's read loop gets it. When that happens before the first
// request had a stream, net/http fails the request with
// "http2: client conn could not be established" and drops the alert; it
// also keeps the never-used connection in its pool for a few seconds and
// hands it to the next requests, which fail the same way. The wrapper
// reads the alert back from the closed connection (crypto/tls keeps a
// connection's read error) when its first request fails so, and records it
// for the connection's authority; RoundTrip adds it to that error, so that
// the refusal is the certificate error it is, as over HTTP/1.1. It does
// the same when the first request's write on the new connection failed
// (net/http wrote its frames before its read loop read the alert). A
// per-connection cost only: requests over an established connection do not
// go through the wrapper.
func (b *Base) watchH2(t *http.Transport) {
	t.CloseIdleConnections() // runs net/http's HTTP/2 set-up; there is no connection yet
	up := t.TLSNextProto["h2"]
	if up == nil {
		return // HTTP/2 off (GODEBUG=http2client=0)
	}
	t.TLSNextProto["h2"] = func(authority string, c *tls.Conn) http.RoundTripper {
		// A new connection to authority: an alert recorded for an earlier
		// one no longer describes what its requests will meet.
		if _, ok := b.h2alerts.LoadAndDelete(authority); ok {
			b.h2alertN.Add(-1)
		}
		rt := up(authority, c)
		if _, ok := rt.(interface{ RoundTripErr() error }); ok {
			return rt // net/http checks for this type: the connection was refused
		}
		return &h2FirstRT{next: rt, conn: c, authority: authority, b: b}
	}
}

// h2FirstRT is the HTTP/2 round tripper net/http uses for the requests
// that dialed conn. net/http also hands it later requests while no pooled
// HTTP/2 connection can take one (each at its stream limit), and the
// HTTP/2 transport then sends them over another connection, perhaps one it
// dials: only the first request reads conn back, so that another
// connection's failure never sets a read deadline on conn, perhaps alive
// and carrying streams. Later requests get the recorded alert from
// withH2Alert.
type h2FirstRT struct {
	next      http.RoundTripper
	conn      *tls.Conn
	authority string
	b         *Base
	used      atomic.Bool
}

func (r *h2FirstRT) RoundTrip(req *http.Request) (*http.Response, error) {
	first := !r.used.Swap(true)
	resp, err := r.next.RoundTrip(req)
	if first && err != nil && (connDeadAfter(err) || failedWriteOn(err, r.conn)) && !isTLSError(err) {
		if aerr := closedConnAlert(r.conn); aerr != nil {
			r.b.rememberH2Alert(r.authority, aerr)
			return nil, fmt.Errorf("%w: %w", err, aerr)
		}
	}
	return resp, err
}

// connDeadAfter reports whether err, an error of a request over an HTTP/2
// connection, is net/http's "client conn could not be established": the
// connection closed before any request was sent on it, so reading it
// cannot disturb other requests. A failed write is not taken as one: the
// request may have been given another, older connection of the pool,
// while conn is alive, and the read deadline closedConnAlert sets would
// end conn's read loop (failedWriteOn tells a write on conn itself).
func connDeadAfter(err error) bool {
	return innermost(err, isH2NotEstablished)
}

// failedWriteOn reports whether err is a failed write on c itself, not a
// timeout: its *net.OpError names c's own local and remote TCP addresses
// (a 4-tuple no other live connection has). The connection is then dead,
// and reading it back disturbs no other request: when net/http's HTTP/2
// transport writes the first request's frames before its read loop read
// the refusing alert, the write fails ("broken pipe", "connection reset
// by peer") and the alert waits in the connection. A plain reset reads
// back no alert and stays as it was.
func failedWriteOn(err error, c *tls.Conn) bool {
	oe, ok := errors.AsType[*net.OpError](err)
	if !ok || oe.Op != "write" || oe.Timeout() || oe.Source == nil || oe.Addr == nil {
		return false
	}
	la, ra := c.LocalAddr(), c.RemoteAddr()
	if la == nil || ra == nil || la.Network() != "tcp" || ra.Network() != "tcp" {
		return false
	}
	return oe.Source.String() == la.String() && oe.Addr.String() == ra.String()
}

func isH2NotEstablished(s string) bool { return s == h2NotEstablished }

// closedConnAlert returns the TLS alert the peer closed c with (a
// *net.OpError "remote error" wrapping crypto/tls's alert, as crypto/tls
// returns it), or nil. c is
// closed, or dead (its HTTP/2 connection was closed, or a write on it
// failed): crypto/tls returns the error its read loop got, which it
// keeps, or reads what the peer left in the connection. The read deadline
// keeps the read from waiting long for anything; it is not in the past,
// as Go's poller then fails the read without looking at the socket, and
// an alert nothing has read yet (the write failed first) would be missed.
func closedConnAlert(c *tls.Conn) error {
	_ = c.SetReadDeadline(time.Now().Add(h2AlertReadWait))
	var p [1]byte
	_, err := c.Read(p[:])
	if oe, ok := errors.AsType[*net.OpError](err); ok && oe.Op == "remote error" {
		return err
	}
	return nil
}

// h2AlertReadWait bounds closedConnAlert's read of a dead connection:
// what the peer sent before it closed is there at once.
const h2AlertReadWait = 100 * time.Millisecond

// maxH2Alerts bounds the authorities whose refusing alert a Base
// remembers (their keys come from the URLs called). Past it, a new
// authority's alert is still added to the error of the request that met
// it, but not to those of later requests given the same refused
// connection.
const maxH2Alerts = 256

// rememberH2Alert records aerr, the alert that closed a new HTTP/2
// connection to authority, for the requests net/http gives that
// connection next (withH2Alert), unless maxH2Alerts are held.
func (b *Base) rememberH2Alert(authority string, aerr error) {
	if _, ok := b.h2alerts.Load(authority); ok {
		b.h2alerts.Store(authority, aerr)
		return
	}
	if b.h2alertN.Add(1) > maxH2Alerts {
		b.h2alertN.Add(-1)
		return
	}
	if _, loaded := b.h2alerts.LoadOrStore(authority, aerr); loaded {
		b.h2alertN.Add(-1)
		b.h2alerts.Store(authority, aerr)
	}
}

// withH2Alert returns err, an error of req, with the TLS alert that closed
// the HTTP/2 connection it was given, when err is net/http's "client conn
// could not be established" and the alert was recorded (watchH2).
func (b *Base) withH2Alert(req *http.Request, err error) error {
	if req.URL == nil || !innermost(err, isH2NotEstablished) || isTLSError(err) {
		return err
	}
	if a, ok := b.h2alerts.Load(h2Authority(req)); ok {
		return fmt.Errorf("%w: %w", err, a.(error))
	}
	return err
}

// h2Authority is net/http's key of req's connection ("host:port", the host
// in its IDNA ASCII form, the port defaulting to the scheme's), which it
// passes to TLSNextProto.
func h2Authority(req *http.Request) string {
	host, port := req.URL.Hostname(), req.URL.Port()
	if a, err := hostname.ToASCII(host); err == nil {
		host = a // an ASCII host as it is
	}
	if port == "" {
		switch req.URL.Scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return net.JoinHostPort(host, port)
}
