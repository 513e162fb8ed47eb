package transport_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// staleResumeFront listens in front of backend (a TLS server's address):
// every connection is relayed to it, but for the one numbered forge (from
// 1), whose ClientHello is answered with a TLS 1.2 ServerHello that
// echoes the client's session ID (so resumes its cached session) with
// cipher suite suite, no extensions: what a server of a fleet sharing
// session ticket keys sends when it resumes a session another server made
// without checking it against its own configuration. It returns its
// address and the number of connections accepted.
func staleResumeFront(t *testing.T, backend string, forge int64, suite *atomic.Uint32) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if n.Add(1) != forge {
				go relay(c, backend)
				continue
			}
			go func() {
				defer c.Close()
				hdr := make([]byte, 5)
				if _, err := io.ReadFull(c, hdr); err != nil {
					return
				}
				rec := make([]byte, int(hdr[3])<<8|int(hdr[4]))
				if _, err := io.ReadFull(c, rec); err != nil || len(rec) < 39 {
					return
				}
				sid := rec[39 : 39+int(rec[38])] // type, length, version, random, then the session ID
				body := []byte{0x03, 0x03}
				random := make([]byte, 32)
				random[3] = 0x5a
				body = append(body, random...)
				body = append(body, byte(len(sid)))
				body = append(body, sid...)
				s := suite.Load()
				body = append(body, byte(s>>8), byte(s), 0x00) // cipher suite, compression null
				hs := append([]byte{0x02, 0, 0, byte(len(body))}, body...)
				c.Write(append([]byte{0x16, 0x03, 0x03, 0, byte(len(hs))}, hs...))
				io.Copy(io.Discard, c) // until the client closes
			}()
		}
	}()
	return ln.Addr().String(), &n
}

func relay(c net.Conn, backend string) {
	defer c.Close()
	u, err := net.Dial("tcp", backend)
	if err != nil {
		return
	}
	defer u.Close()
	go func() { io.Copy(u, c); u.Close() }()
	io.Copy(c, u)
}

// With a TLSConfig.ClientSessionCache, a server that resumes the cached
// session in a way crypto/tls refuses ("tls: server resumed a session with
// a different cipher suite", "... version", "... EMS extension", "tls:
// server selected an invalid PSK": a stale ticket another server of the
// host's fleet made) fails that one handshake: crypto/tls drops the
// session then (RFC 5077 §3.2), and the next connection's full handshake
// succeeds. Such a failure is not the same on every connection, which is
// what made 281640b class crypto/tls's other handshake texts permanent: a
// GET was not tried again and the call failed, where it was retried (and
// succeeded) before. It stays a failure the retry layer may try again.
func TestStaleSessionResumptionFailureIsRetried(t *testing.T) {
	w := newPKIWorld(t)
	srv := pkiServer(t, w.leaf.TLS, false, nil, nil)
	var suite atomic.Uint32
	front, conns := staleResumeFront(t, srv.Listener.Addr().String(), 2, &suite)
	b := pkiMust(transport.NewBase(transport.BaseConfig{
		DialContext: pkiDialTo(front),
		TLSConfig: &tls.Config{
			RootCAs:            testpki.Pool(w.ca),
			MaxVersion:         tls.VersionTLS12,
			ClientSessionCache: tls.NewLRUClientSessionCache(4),
		},
	}))
	t.Cleanup(b.CloseIdleConnections)

	// A first call makes the session (relayed to the real server).
	resp, _, err := pkiGet(t, b, "https://api.example.test/")
	if err != nil {
		t.Fatal(err)
	}
	if resp.TLS.CipherSuite == tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 || resp.TLS.CipherSuite == tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
		suite.Store(uint32(tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384))
		if resp.TLS.CipherSuite == tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
			suite.Store(uint32(tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384))
		}
	} else {
		suite.Store(uint32(tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256))
		if resp.TLS.CipherSuite == tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 {
			suite.Store(uint32(tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256))
		}
	}
	b.CloseIdleConnections()

	inner := &countingRT{next: b}
	rt := pkiMust(transport.NewRetry(inner, transport.RetryConfig{
		MaxAttempts: 3, BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond,
	}))
	req, _ := http.NewRequest("GET", "https://api.example.test/", nil)
	resp, err = rt.RoundTrip(req)
	errs := inner.attempts()
	if err != nil {
		t.Fatalf("the call failed after %d attempt(s): %v", len(errs), err)
	}
	resp.Body.Close()
	if len(errs) != 2 || errs[0] == nil {
		t.Fatalf("attempts %v, want the stale resumption's failure, then a success", errs)
	}
	if got, want := errs[0].Error(), "tls: server resumed a session with a different cipher suite"; got != want {
		t.Errorf("first attempt's error %q, want %q", got, want)
	}
	v := transport.Classify(context.Background(), nil, errs[0], time.Now())
	if v.Class == transport.ClassPermanent {
		t.Errorf("%v classified %+v: a stale session's failure is not the same on the next connection", errs[0], v)
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
}
