package transport_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// legacyHelloServer accepts connections, reads the client's first record
// and answers it with a ServerHello for TLS 1.0 (TLS_RSA_WITH_AES_128_CBC_SHA,
// no extensions), as an old server speaking TLS 1.0 alone does instead of
// a protocol_version alert. It returns its address.
func legacyHelloServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	body := []byte{0x03, 0x01} // server_version TLS 1.0
	body = append(body, make([]byte, 32)...)
	body[10] = 0x5a                       // a random that is not a downgrade canary
	body = append(body, 0)                // session_id: empty
	body = append(body, 0x00, 0x2f, 0x00) // cipher suite, compression null
	hs := append([]byte{0x02, 0, 0, byte(len(body))}, body...)
	rec := append([]byte{0x16, 0x03, 0x01, 0, byte(len(hs))}, hs...)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				hdr := make([]byte, 5)
				if _, err := io.ReadFull(c, hdr); err != nil {
					return
				}
				if _, err := io.CopyN(io.Discard, c, int64(hdr[3])<<8|int64(hdr[4])); err != nil {
					return
				}
				c.Write(rec)
				io.Copy(io.Discard, c) // until the client closes
			}()
		}
	}()
	return ln.Addr().String()
}

// A server that speaks TLS 1.0 alone and answers a TLS 1.2+ ClientHello
// with its own version's ServerHello (old stacks do, rather than send a
// protocol_version alert) fails the handshake on the client with
// crypto/tls's plain "tls: server selected unsupported protocol version
// 301": no alert from the peer, no type. Where the same server sending the
// alert is a TLS failure (permanent, never a breaker failure:
// TestBaseRefusesServerBelowTLS12), this one was classified ambiguous: a
// GET was tried again and again, and every attempt counted against the
// host's circuit breaker, error.type "_OTHER". A failure crypto/tls
// reports in the handshake of a connection no request was handed is a TLS
// failure now, whatever its text: permanent, excluded from the breaker,
// error.type "tls", tried once.
func TestHandshakeProtocolFailureIsATLSFailure(t *testing.T) {
	addr := legacyHelloServer(t)
	b := pkiMust(transport.NewBase(transport.BaseConfig{DialContext: pkiDialTo(addr)}))
	t.Cleanup(b.CloseIdleConnections)
	inner := &countingRT{next: b}
	rt := pkiMust(transport.NewRetry(inner, transport.RetryConfig{
		MaxAttempts: 3, BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond,
	}))
	req, _ := http.NewRequest("GET", "https://api.example.test/", nil)
	resp, err := rt.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("the call succeeded")
	}
	errs := inner.attempts()
	if len(errs) != 1 {
		t.Errorf("%d attempts, want 1: %v", len(errs), errs)
	}
	if got, want := errs[0].Error(), "tls: server selected unsupported protocol version 301"; got != want {
		t.Errorf("error %q, want %q (the text unchanged)", got, want)
	}
	v := transport.Classify(context.Background(), nil, errs[0], time.Now())
	if v.Class != transport.ClassPermanent || v.Breaker != transport.BreakerExcluded {
		t.Errorf("%v classified %+v, want permanent, excluded from the breaker", errs[0], v)
	}
	if et := transport.ErrorType(errs[0]); et != transport.ErrorTypeTLS {
		t.Errorf("error.type %q, want %q", et, transport.ErrorTypeTLS)
	}
}
