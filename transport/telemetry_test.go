package transport_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/securecall/securecall/transport"
)

type typedErr struct{}

func (typedErr) Error() string     { return "typed" }
func (typedErr) ErrorType() string { return "custom_type" }

type emptyTypedErr struct{}

func (emptyTypedErr) Error() string     { return "typed" }
func (emptyTypedErr) ErrorType() string { return "" }

func TestErrorType(t *testing.T) {
	dial := func(errno error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: errno}}
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, transport.ErrorTypeOther},
		{"plain", errors.New("x"), transport.ErrorTypeOther},
		{"ErrorType method", fmt.Errorf("w: %w", typedErr{}), "custom_type"},
		{"empty ErrorType method", fmt.Errorf("w: %w", &url.Error{Op: "Get", URL: "u", Err: fmt.Errorf("%w %w", emptyTypedErr{}, context.Canceled)}), transport.ErrorTypeCanceled},
		{"canceled", &url.Error{Op: "Get", URL: "u", Err: context.Canceled}, transport.ErrorTypeCanceled},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), transport.ErrorTypeTimeout},
		{"net timeout", &net.DNSError{Err: "timeout", IsTimeout: true}, transport.ErrorTypeTimeout},
		{"pin mismatch", &url.Error{Op: "Get", URL: "u", Err: &transport.PinMismatchError{Host: "h"}}, transport.ErrorTypePinMismatch},
		{"unknown authority", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, transport.ErrorTypeCertificate},
		{"hostname", x509.HostnameError{Host: "h", Certificate: &x509.Certificate{}}, transport.ErrorTypeCertificate},
		{"insecure tls", fmt.Errorf("x: %w", transport.ErrInsecureTLS), transport.ErrorTypeCertificate},
		{"record header", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, transport.ErrorTypeTLS},
		{"alert", tls.AlertError(40), transport.ErrorTypeTLS},
		{"remote error", &net.OpError{Op: "remote error", Err: errors.New("tls: handshake failure")}, transport.ErrorTypeTLS},
		{"circuit open", fmt.Errorf("x: %w", transport.ErrCircuitOpen), transport.ErrorTypeCircuitOpen},
		{"rate limited", transport.ErrRateLimited, transport.ErrorTypeRateLimited},
		{"egress", transport.ErrEgressDenied, transport.ErrorTypeEgressDenied},
		{"redirect", transport.ErrRedirectDenied, transport.ErrorTypeRedirectDenied},
		{"not replayable", transport.ErrNotReplayable, transport.ErrorTypeNotReplayable},
		{"too large", transport.ErrResponseTooLarge, transport.ErrorTypeResponseTooLarge},
		{"closed", transport.ErrClosed, transport.ErrorTypeClosed},
		{"dns", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, transport.ErrorTypeDNS},
		{"refused", dial(syscall.ECONNREFUSED), transport.ErrorTypeConnectionRefused},
		{"reset", &net.OpError{Op: "read", Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}, transport.ErrorTypeConnectionReset},
		{"eof", fmt.Errorf("x: %w", io.EOF), transport.ErrorTypeConnectionClosed},
		{"unexpected eof", io.ErrUnexpectedEOF, transport.ErrorTypeConnectionClosed},
		{"other op error", dial(syscall.EHOSTUNREACH), transport.ErrorTypeConnection},
	}
	for _, tt := range tests {
		if got := transport.ErrorType(tt.err); got != tt.want {
			t.Errorf("%s: ErrorType(%v) = %q, want %q", tt.name, tt.err, got, tt.want)
		}
	}
}

// TestErrorTypeRealTLS classifies the errors of real handshakes: an
// untrusted certificate, and a TLS client talking to a plain HTTP server.
func TestErrorTypeRealTLS(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer tlsSrv.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer plain.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	for _, c := range []struct{ url, want string }{
		{tlsSrv.URL, transport.ErrorTypeCertificate},
		{strings.Replace(plain.URL, "http://", "https://", 1), transport.ErrorTypeTLS},
	} {
		req, _ := http.NewRequest(http.MethodGet, c.url, nil)
		resp, err := tr.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: no error", c.url)
		}
		if got := transport.ErrorType(err); got != c.want {
			t.Errorf("%s: ErrorType(%v) = %q, want %q", c.url, err, got, c.want)
		}
	}
}
