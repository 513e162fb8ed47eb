package transport

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
)

// NoProtocolError reports a call of a Base that offers HTTP/1.1 alone
// (BaseConfig.TLSConfig.NextProtos without "h2") failed over a new
// connection whose TLS handshake negotiated no application protocol
// (ALPN), the server closing it without an answer, or answering with an
// HTTP/2 frame: what a server that speaks only HTTP/2 does. crypto/tls
// lets a client offering http/1.1 complete the handshake with a server
// offering "h2" alone, with no protocol negotiated (golang/go#46310), and
// such a server then drops the connection (gRPC servers enforcing ALPN)
// or sends its HTTP/2 SETTINGS and closes once it reads the HTTP/1.1
// request for its preface. net/http reports it as a bare "EOF" (or a
// reset, "http: server closed idle connection", or a "malformed HTTP
// response" of binary bytes).
//
// A server that speaks HTTP/1.1 without ALPN and closes a new connection
// before answering looks the same to the client, so the error explains,
// it does not decide: it wraps the error net/http returned (Err), and the
// call is classified, retried and counted as that error is. Over a
// connection that already carried an answer it is never reported.
type NoProtocolError struct {
	// Offered is the ALPN list the client offered (http/1.1 last).
	Offered []string
	// Err is the error net/http returned.
	Err error
}

func (e *NoProtocolError) Error() string {
	return "transport: the server closed a new connection without an HTTP/1.1 answer after a TLS handshake that " +
		"negotiated no application protocol (ALPN) of those offered " + strconv.Quote(strings.Join(e.Offered, ",")) +
		": a server that speaks only HTTP/2 does so; offer \"h2\" in TLSConfig.NextProtos to reach it: " + e.Err.Error()
}

func (e *NoProtocolError) Unwrap() error { return e.Err }

// noProtocol returns err, the failure of a request of an HTTP/1.1-only
// Base over c, a connection not taken from the pool, as a
// *NoProtocolError when c's TLS handshake completed without a protocol
// negotiated and the server closed c before answering (io.EOF, a reset,
// a broken pipe, or net/http's "server closed idle connection" when it
// saw the close before the request was written) or answered with an
// HTTP/2 SETTINGS frame. Else err.
func noProtocol(c net.Conn, err error, offered []string) error {
	tc, ok := c.(*tls.Conn)
	if !ok || isTLSError(err) || IsCertificateError(err) {
		return err
	}
	if st := tc.ConnectionState(); !st.HandshakeComplete || st.NegotiatedProtocol != "" {
		return err
	}
	if err != io.EOF && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) &&
		!innermost(err, isServerClosedIdle) && !innermost(err, isH2SettingsResponse) {
		return err
	}
	return &NoProtocolError{Offered: offered, Err: err}
}

// isServerClosedIdle reports whether s is net/http's error for a
// connection the server closed before the request was handed to its
// reader ("idle": on a new connection, one that never carried a request).
func isServerClosedIdle(s string) bool { return s == "http: server closed idle connection" }

// isH2SettingsResponse reports whether s is net/http's "malformed HTTP
// response" error for a status line that begins with an HTTP/2 SETTINGS
// frame header (a length in whole settings, type 0x4, flags 0 or ACK,
// stream 0): a server's HTTP/2 preface, read as an HTTP/1.1 response.
func isH2SettingsResponse(s string) bool {
	q, ok := strings.CutPrefix(s, "malformed HTTP response ")
	if !ok {
		return false
	}
	line, err := strconv.Unquote(q)
	if err != nil || len(line) < 9 {
		return false
	}
	n := int(line[0])<<16 | int(line[1])<<8 | int(line[2])
	return n%6 == 0 && line[3] == 0x4 && line[4]&^0x1 == 0 && line[5:9] == "\x00\x00\x00\x00"
}
