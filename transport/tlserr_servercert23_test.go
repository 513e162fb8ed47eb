package transport_test

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// rawTLSServer serves HTTP over TLS with cert as it is, without
// httptest's parsing of it (which refuses a certificate that does not
// parse, or whose key is another's), and returns its address.
func rawTLSServer(t *testing.T, cert tls.Certificate, maxVersion uint16) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:  http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go srv.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: maxVersion}))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// A server whose certificate crypto/tls finds unusable in the handshake,
// before or beside chain verification, fails it with a plain error
// (errors.New, no type): a certificate that does not parse ("tls: failed
// to parse certificate from server: x509: ...", what Go's stricter
// parser says of some certificates other stacks accept), or a signature
// of the handshake that the certificate's key did not make ("tls:
// invalid signature by the server certificate: ...": a server presenting
// a certificate, valid and even pinned, whose key it does not hold, the
// impersonation pins are meant to stop). They were not recognised as
// certificate failures: classified ambiguous, a GET was sent again and
// again to the impostor, every attempt counted against the host's
// circuit breaker, error.type "other"; IsCertificateError and the docs
// say certificate failures are never retried ("trying again against a
// server that presents the wrong key only gives an attacker more
// chances"). They are certificate errors now: permanent, excluded from
// the breaker, one attempt.
func TestServerCertificateHandshakeFailuresAreCertificateErrors(t *testing.T) {
	w := newPKIWorld(t)
	trailing := w.leaf.TLS
	trailing.Certificate = [][]byte{append(append([]byte(nil), w.leaf.TLS.Certificate[0]...), 0)}
	trailing.Leaf = nil
	stolen := w.leaf.TLS // the server's certificate, the attacker's key
	stolen.PrivateKey = w.attacker.Key
	pins := []transport.PinSet{{Host: "api.example.test", Pins: []string{testpki.Pin(w.leaf.Cert), testpki.Pin(w.ca.Cert)}}}

	for _, tc := range []struct {
		name string
		cert tls.Certificate
		pins []transport.PinSet
	}{
		{"certificate does not parse", trailing, nil},
		{"key not the certificate's", stolen, nil},
		{"key not the pinned certificate's", stolen, pins},
	} {
		for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			t.Run(tc.name+"/"+tls.VersionName(version), func(t *testing.T) {
				addr := rawTLSServer(t, tc.cert, version)
				b := pkiMust(transport.NewBase(transport.BaseConfig{
					TLSConfig:   &tls.Config{RootCAs: testpki.Pool(w.ca)},
					Pins:        tc.pins,
					DialContext: pkiDialTo(addr),
				}))
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
				if !transport.IsCertificateError(errs[0]) || !transport.IsCertificateError(err) {
					t.Errorf("%v is not a certificate error", errs[0])
				}
				v := transport.Classify(context.Background(), nil, errs[0], time.Now())
				if v.Class != transport.ClassPermanent || v.Breaker != transport.BreakerExcluded {
					t.Errorf("%v classified %+v, want permanent, excluded from the breaker", errs[0], v)
				}
				if et := transport.ErrorType(errs[0]); et != transport.ErrorTypeCertificate {
					t.Errorf("error.type %q, want %q", et, transport.ErrorTypeCertificate)
				}
			})
		}
	}
}

// The texts of isServerCertificateUnusable that no test server above
// produces are matched by their whole form, and nothing that merely
// contains them is.
func TestServerCertificateUnusableTexts(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want bool
	}{
		{"tls: server sent certificate containing RSA key larger than 8192 bits", true},
		{"tls: server's certificate contains an unsupported type of public key: *dsa.PublicKey", true},
		{"tls: received empty certificates message", true},
		{"tls: certificate used with invalid signature algorithm", true},
		{"tls: server certificate contains incorrect key type for selected ciphersuite", true},
		{"tls: server's identity changed during renegotiation", true},
		{"tls: failed to parse certificate from server: ", false},
		{"tls: invalid signature by the server certificate: ", false},
		{"tls: server sent certificate containing RSA key larger than many bits", false},
		{"tls: server's certificate contains an unsupported type of public key: a b", false},
		{`malformed HTTP response "tls: received empty certificates message"`, false},
		{"tls: received empty certificates message.", false},
	} {
		err := &net.OpError{Op: "read", Net: "tcp", Err: errorString(tc.msg)}
		if got := transport.IsCertificateError(err); got != tc.want {
			t.Errorf("IsCertificateError(%q) = %v, want %v", tc.msg, got, tc.want)
		}
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }
