package transport_test

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// sigAlgsProxy relays TCP connections to addr, rewriting every signature
// scheme a TLS 1.2 server's CertificateRequest (sent in the clear) lists
// into Ed25519: a server that accepts no signature the client's ECDSA
// key can make. A Go server cannot be configured to do that; the client
// fails before its Finished message, so the altered transcript is never
// checked.
func sigAlgsProxy(t *testing.T, addr string) (string, *atomic.Int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			s, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			go func() { io.Copy(s, c); s.Close() }()
			go func() {
				defer c.Close()
				hdr := make([]byte, 5)
				for {
					if _, err := io.ReadFull(s, hdr); err != nil {
						return
					}
					rec := make([]byte, binary.BigEndian.Uint16(hdr[3:]))
					if _, err := io.ReadFull(s, rec); err != nil {
						return
					}
					if hdr[0] == 22 { // handshake
						for m := rec; len(m) >= 4; {
							n := int(m[1])<<16 | int(m[2])<<8 | int(m[3])
							if len(m) < 4+n {
								break
							}
							if body := m[4 : 4+n]; m[0] == 13 && len(body) > 0 { // certificate_request
								algs := body[1+int(body[0]):]
								l := int(binary.BigEndian.Uint16(algs))
								for i := 2; i+1 < 2+l; i += 2 {
									algs[i], algs[i+1] = 0x08, 0x07 // ed25519
								}
							}
							m = m[4+n:]
						}
					}
					if _, err := c.Write(append(hdr, rec...)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), &conns
}

// A server that accepts no signature scheme the client certificate's key
// can make fails the handshake on the client with crypto/tls's "tls: peer
// doesn't support any of the certificate's signature algorithms" (a plain
// errors.New, crypto/tls auth.go selectSignatureScheme). That is a
// configuration error retrying cannot fix: a certificate error, not
// retried, excluded from the breaker.
func TestClientCertificateSignatureSchemeMismatchIsACertificateError(t *testing.T) {
	w := newPKIWorld(t)
	clientCA := pkiMust(testpki.NewCA("client root"))
	client := pkiMust(clientCA.Client("client"))
	srv := pkiServer(t, w.leaf.TLS, false, nil, func(c *tls.Config) {
		c.MaxVersion = tls.VersionTLS12
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = testpki.Pool(clientCA)
	})
	addr, conns := sigAlgsProxy(t, srv.Listener.Addr().String())
	cc := pkiMust(transport.NewClientCertificateFromPEM(client.CertPEM, client.KeyPEM))
	b := pkiBase(t, transport.BaseConfig{ClientCertificate: cc, DialContext: pkiDialTo(addr)}, nil, w.ca)
	inner := &countingRT{next: b}
	rt := pkiMust(transport.NewRetry(inner, transport.RetryConfig{
		MaxAttempts: 3, BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond,
	}))
	_, _, err := pkiGet(t, rt, "https://api.example.test/")
	if err == nil {
		t.Fatal("the handshake succeeded")
	}
	const msg = "tls: peer doesn't support any of the certificate's signature algorithms"
	if !containsMsg(err, msg) {
		t.Fatalf("err = %v; want crypto/tls's %q", err, msg)
	}
	if !transport.IsCertificateError(err) {
		t.Errorf("%v is not a certificate error", err)
	}
	v := transport.Classify(context.Background(), nil, err, time.Now())
	if v.Class != transport.ClassPermanent || v.Breaker != transport.BreakerExcluded {
		t.Errorf("%v classified %+v, want permanent, excluded from the breaker", err, v)
	}
	if n := len(inner.attempts()); n != 1 {
		t.Errorf("%d attempts, want 1 (not retried)", n)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

func containsMsg(err error, msg string) bool {
	for ; err != nil; err = unwrapOne(err) {
		if err.Error() == msg {
			return true
		}
	}
	return false
}

func unwrapOne(err error) error {
	if u, ok := err.(interface{ Unwrap() error }); ok {
		return u.Unwrap()
	}
	return nil
}
