package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"reflect"
	"strings"
)

// IsCertificateError reports whether err (or anything it wraps) is a
// certificate or pin failure: a pin mismatch (ErrPinMismatch), a refused
// insecure TLS configuration (ErrInsecureTLS), a failed verification of the
// server's chain or name (*tls.CertificateVerificationError,
// x509.UnknownAuthorityError, x509.CertificateInvalidError,
// x509.HostnameError), or a certificate-related TLS alert from the peer
// (bad_certificate, unsupported_certificate, certificate_revoked,
// certificate_expired, certificate_unknown, unknown_ca,
// certificate_required: typically the server refusing our client
// certificate; over HTTP/2 with TLS 1.3 the Base adds that alert to
// net/http's "http2: client conn could not be established", or to the
// failed write of the first request on the new connection, which would
// otherwise drop it), or crypto/tls's refusal to sign with the client
// certificate's key when the server accepts none of the signature schemes
// that key can make ("tls: peer doesn't support any of the certificate's
// signature algorithms", a plain error matched by its exact message), or
// because the certificate or its key cannot sign at all (an unsupported
// key type or curve, an RSA key too small, a SupportedSignatureAlgorithms
// list the key cannot make, a key that is no crypto.Signer: see
// isClientKeyUnusable), or crypto/tls's refusal of the server's
// certificate before or beside chain verification (one that does not
// parse, a handshake signature its key did not make: a server presenting
// a certificate whose key it does not hold; see
// isServerCertificateUnusable). A failure of the key's signer itself ("tls:
// failed to sign handshake: ..." over TLS 1.3, "transport: client
// certificate key: " and the signer's error over TLS 1.2, through a Base)
// is not one: a hardware or remote signer may fail for a while.
// Classify tells it apart: never sent and retried when the signer says it
// is transient, permanent otherwise, never a breaker failure.
//
// Such failures do not go away by trying again, and trying again against a
// server that presents the wrong key only gives an attacker more chances:
// no layer retries them, and the circuit breaker does not count them as
// server faults.
func IsCertificateError(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrPinMismatch) || errors.Is(err, ErrInsecureTLS) {
		return true
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.CertificateInvalidError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.HostnameError](err); ok {
		return true
	}
	if a, ok := errors.AsType[tls.AlertError](err); ok && isCertificateAlert(uint8(a)) {
		return true
	}
	return hasCertificateAlert(err) || innermost(err, isSignatureSchemeMismatch) ||
		innermost(err, isClientKeyUnusable) || innermost(err, isServerCertificateUnusable)
}

// isServerCertificateUnusable reports whether s is the message of one of
// the errors crypto/tls's client handshake returns when the server's
// certificate is unusable before or beside chain verification: plain
// errors with no type to match (and no alert in them: crypto/tls sends
// its alert and returns the error as it is). A certificate that does not
// parse (Go's parser refuses some that other stacks accept), a handshake
// signature that the certificate's key did not make (a server presenting
// a certificate, valid and perhaps pinned, whose key it does not hold:
// an impostor), a key crypto/tls cannot use, no certificate at all. The
// texts, in Go 1.26's crypto/tls (handshake_client.go
// verifyServerCertificate, handshake_client_tls13.go readServerCertificate,
// key_agreement.go):
//
//   - "tls: failed to parse certificate from server: " + an x509 error;
//   - "tls: invalid signature by the server certificate: " + a signature
//     verification error (TLS 1.2 and 1.3);
//   - "tls: server sent certificate containing RSA key larger than %d bits";
//   - "tls: server's certificate contains an unsupported type of public
//     key: %T";
//   - "tls: received empty certificates message" (TLS 1.3);
//   - "tls: certificate used with invalid signature algorithm";
//   - "tls: server certificate contains incorrect key type for selected
//     ciphersuite" (TLS 1.2);
//   - "tls: server's identity changed during renegotiation".
//
// Each is matched whole: a fixed text exactly, a formatted one by its
// fixed parts around its operand.
func isServerCertificateUnusable(s string) bool {
	switch s {
	case "tls: received empty certificates message",
		"tls: certificate used with invalid signature algorithm",
		"tls: server certificate contains incorrect key type for selected ciphersuite",
		"tls: server's identity changed during renegotiation":
		return true
	}
	for _, p := range [...]string{
		"tls: failed to parse certificate from server: ",
		"tls: invalid signature by the server certificate: ",
	} {
		if rest, ok := strings.CutPrefix(s, p); ok && rest != "" {
			return true
		}
	}
	if t, ok := strings.CutPrefix(s, "tls: server's certificate contains an unsupported type of public key: "); ok {
		return isOperand(t)
	}
	if t, ok := strings.CutPrefix(s, "tls: server sent certificate containing RSA key larger than "); ok {
		n, ok := strings.CutSuffix(t, " bits")
		return ok && n != "" && strings.Trim(n, "0123456789") == ""
	}
	return false
}

// isSignatureSchemeMismatch reports whether s is the message of the error
// crypto/tls's client handshake returns when the server's
// CertificateRequest lists no signature scheme the client certificate's
// key can make (selectSignatureScheme in crypto/tls/auth.go, an
// errors.New with no type to match). Reconfiguring the certificate or
// the server is the only fix.
func isSignatureSchemeMismatch(s string) bool {
	return s == "tls: peer doesn't support any of the certificate's signature algorithms"
}

// isClientKeyUnusable reports whether s is the message of one of the
// errors crypto/tls's client handshake returns when the client
// certificate's key can make no signature the negotiated version allows,
// whatever the server: plain errors with no type to match, each decided by
// the certificate, its key and the negotiated version alone, so no retry
// can fix them. The texts, in Go 1.26's crypto/tls:
//
//   - auth.go unsupportedCertificateError, reached from
//     selectSignatureScheme (from handshake_client.go doFullHandshake for
//     TLS 1.2, handshake_client_tls13.go sendClientCertificate for TLS
//     1.3) when the key is no crypto.Signer
//     or no signature scheme is left for it: "tls: unsupported
//     certificate: private key is %T, expected *%T" (and its
//     *ed25519.PrivateKey form), "tls: certificate private key (%T) does
//     not implement crypto.Signer", "tls: unsupported certificate curve
//     (%s)", "tls: certificate RSA key size too small for supported
//     signature algorithms", "tls: unsupported certificate key (%T)",
//     "tls: peer doesn't support the certificate custom signature
//     algorithms" (despite its words, the certificate's own
//     SupportedSignatureAlgorithms leave none its key can make) and "tls:
//     internal error: unsupported key (%T)" (every scheme of the key
//     disabled by policy: FIPS 140-3 mode, GODEBUG);
//   - handshake_client.go doFullHandshake (TLS 1.2): "tls: client
//     certificate private key of type %T does not implement crypto.Signer".
//
// Each is matched whole: a fixed text exactly, a formatted one by its
// fixed parts around a single %T or %s operand (no space in it).
func isClientKeyUnusable(s string) bool {
	switch s {
	case "tls: certificate RSA key size too small for supported signature algorithms",
		"tls: peer doesn't support the certificate custom signature algorithms",
		"tls: unsupported certificate: private key is *ed25519.PrivateKey, expected ed25519.PrivateKey":
		return true
	}
	if t, ok := strings.CutPrefix(s, "tls: unsupported certificate: private key is "); ok {
		typ, want, ok := strings.Cut(t, ", expected *")
		return ok && isOperand(typ) && want == typ
	}
	for _, f := range [...][2]string{
		{"tls: certificate private key (", ") does not implement crypto.Signer"},
		{"tls: unsupported certificate curve (", ")"},
		{"tls: unsupported certificate key (", ")"},
		{"tls: internal error: unsupported key (", ")"},
		{"tls: client certificate private key of type ", " does not implement crypto.Signer"},
	} {
		if t, ok := strings.CutPrefix(s, f[0]); ok {
			if op, ok := strings.CutSuffix(t, f[1]); ok && isOperand(op) {
				return true
			}
		}
	}
	return false
}

// isOperand reports whether s can be what crypto/tls formatted into one of
// the messages isClientKeyUnusable matches: a type name (%T) or a curve
// name (%s), non-empty, with no space or parenthesis.
func isOperand(s string) bool {
	return s != "" && !strings.ContainsAny(s, " ()")
}

// TLS alert codes (RFC 8446 section 6, RFC 5246 section 7.2) about
// certificates.
const (
	alertBadCertificate         = 42
	alertUnsupportedCertificate = 43
	alertCertificateRevoked     = 44
	alertCertificateExpired     = 45
	alertCertificateUnknown     = 46
	alertUnknownCA              = 48
	alertCertificateRequired    = 116
)

func isCertificateAlert(code uint8) bool {
	switch code {
	case alertBadCertificate, alertUnsupportedCertificate, alertCertificateRevoked,
		alertCertificateExpired, alertCertificateUnknown, alertUnknownCA, alertCertificateRequired:
		return true
	}
	return false
}

// hasCertificateAlert walks the error tree for a certificate-related TLS
// alert received from the peer. Over TCP, crypto/tls returns such an alert
// as a *net.OpError{Op: "remote error"} wrapping a value of its unexported
// alert type (only QUIC connections return the exported tls.AlertError), so
// the value is recognised by its type identity and numeric code, never by
// its message.
func hasCertificateAlert(err error) bool {
	for err != nil {
		v := reflect.ValueOf(err)
		if t := v.Type(); t.PkgPath() == "crypto/tls" && t.Name() == "alert" && t.Kind() == reflect.Uint8 {
			return isCertificateAlert(uint8(v.Uint()))
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if hasCertificateAlert(e) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}
