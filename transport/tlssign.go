package transport

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
)

// A client certificate's key held by a hardware or remote signer (an HSM,
// a KMS, an OS keyring: a crypto.Signer of the caller's) may fail to sign
// the handshake. Nothing was sent then, and the server is not at fault:
// the breaker never counts it. Whether trying again can help, only the
// signer knows: an error it says is transient (handshakeSignError's
// temporary) is retried as never sent, whatever the method; any other is
// permanent. crypto/tls returns the signer's error as it is over TLS 1.2,
// but over TLS 1.3 it keeps only its text ("tls: failed to sign
// handshake: " + err.Error()), so the Base wraps such keys (keySigner) to
// keep the error, and gives it back to the failed request
// (withSignError).

// signFailedPrefix starts crypto/tls's TLS 1.3 client error for a client
// certificate key whose Sign failed (handshake_client_tls13.go
// sendClientCertificate, an errors.New of the signer error's text).
const signFailedPrefix = "tls: failed to sign handshake: "

// handshakeSignError is the error of a client certificate key's signer in
// a TLS handshake, as keySigner returns it, or of a
// TLSConfig.GetClientCertificate of the caller's (a vault, an agent) that
// failed to provide one, as wrapClientKeys returns it: a local failure
// before anything was sent, classified the same way. It has the error's
// text and wraps it.
type handshakeSignError struct{ err error }

func (e *handshakeSignError) Error() string { return e.err.Error() }
func (e *handshakeSignError) Unwrap() error { return e.err }

// temporary reports whether the signer said its failure may pass: an
// error in its chain with a Temporary method that returns true (the
// first one found decides), a deadline (context.DeadlineExceeded), a key
// that is unavailable (signer.ErrKeyUnavailable), a secret store that is
// unavailable, locked or timed out (tokens.IsUnavailable).
func (e *handshakeSignError) temporary() bool {
	if t, ok := errors.AsType[interface {
		error
		Temporary() bool
	}](e.err); ok && t.Temporary() {
		return true
	}
	return errors.Is(e.err, context.DeadlineExceeded) || errors.Is(e.err, signer.ErrKeyUnavailable) ||
		tokens.IsUnavailable(e.err)
}

// signFailure is a request's error from a TLS 1.3 handshake whose client
// key failed to sign, with the signer's error crypto/tls dropped: err's
// text, both in its tree.
type signFailure struct {
	err error
	key *handshakeSignError
}

func (e *signFailure) Error() string   { return e.err.Error() }
func (e *signFailure) Unwrap() []error { return []error{e.err, e.key} }

// keySigner is a client certificate's key, a crypto.Signer of the
// caller's, whose failures the Base keeps (Base.signErrs).
type keySigner struct {
	crypto.Signer
	b *Base
}

func (k keySigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := k.Signer.Sign(rand, digest, opts)
	return sig, k.b.signFailed(err)
}

// SignMessage is the signer's own SignMessage when it has one (as
// crypto.SignMessage calls it), else Sign of the hashed message.
func (k keySigner) SignMessage(rand io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := crypto.SignMessage(k.Signer, rand, msg, opts)
	return sig, k.b.signFailed(err)
}

// signFailed keeps err, the failure of a client key's signer, as a
// handshakeSignError whose message names the client certificate key
// (crypto/tls returns it as it is over TLS 1.2, where the signer's own
// "context deadline exceeded" would pass for the server's), and returns
// it.
func (b *Base) signFailed(err error) error {
	if err == nil {
		return nil
	}
	se := &handshakeSignError{err: fmt.Errorf("transport: client certificate key: %w", err)}
	b.signErrs.add(se)
	return se
}

// maxSignErrs bounds the signer failures a Base keeps for withSignError:
// as many handshakes as may fail to sign at once (each failure of a
// remote signer may have a text of its own, a request id), so that each
// finds its own.
const maxSignErrs = 64

// signErrRing holds the last maxSignErrs failures of a Base's client key
// signers.
type signErrRing struct {
	any  atomic.Bool // a failure was ever added: withSignError's fast path
	mu   sync.Mutex
	errs [maxSignErrs]*handshakeSignError
	next int
}

func (r *signErrRing) add(se *handshakeSignError) {
	r.mu.Lock()
	r.errs[r.next] = se
	r.next = (r.next + 1) % maxSignErrs
	r.mu.Unlock()
	r.any.Store(true)
}

// find returns the most recent failure whose text is text, or nil.
func (r *signErrRing) find(text string) *handshakeSignError {
	if !r.any.Load() {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range maxSignErrs {
		se := r.errs[(r.next-1-i+2*maxSignErrs)%maxSignErrs]
		if se == nil {
			return nil
		}
		if se.Error() == text {
			return se
		}
	}
	return nil
}

// wrapKey returns c with its key wrapped in a keySigner when it is a
// crypto.Signer other than crypto/tls's own key types (in memory, they
// fail for no transient reason; crypto/tls checks their types).
func (b *Base) wrapKey(c *tls.Certificate) *tls.Certificate {
	if c == nil {
		return nil
	}
	switch c.PrivateKey.(type) {
	case nil, *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey, keySigner:
		return c
	}
	s, ok := c.PrivateKey.(crypto.Signer)
	if !ok {
		return c // crypto/tls refuses it: isClientKeyUnusable
	}
	w := *c
	w.PrivateKey = keySigner{Signer: s, b: b}
	return &w
}

// errNoClientCertificate is the error of a TLSConfig.GetClientCertificate
// that returned neither a certificate nor an error.
var errNoClientCertificate = errors.New("transport: TLSConfig.GetClientCertificate returned neither a certificate nor an error (return an empty tls.Certificate to present none)")

// wrapClientKeys wraps the keys of tc's client certificates (tc is the
// Base's own clone) in keySigners: those of Certificates (a copy) once,
// those GetClientCertificate returns at each handshake; an error
// GetClientCertificate returns becomes a handshakeSignError whose message
// names GetClientCertificate (the provider's own, "context deadline
// exceeded", "connection refused", would pass for the server's), and so
// does its returning no certificate and no error (crypto/tls would
// dereference the nil certificate, a panic on the goroutine net/http
// makes the handshake on, where no caller's recover reaches: the process
// would end) or a certificate whose key is not its leaf's (a provider
// rotating the certificate and the key one after the other: the server
// would refuse the signature with an alert that names neither).
func (b *Base) wrapClientKeys(tc *tls.Config) {
	if get := tc.GetClientCertificate; get != nil {
		tc.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c, err := get(cri)
			if c == nil && err == nil {
				return nil, &handshakeSignError{err: errNoClientCertificate}
			}
			if err != nil {
				// crypto/tls aborts the handshake with it, as it is:
				// nothing was sent, and the server is not at fault.
				if _, ok := errors.AsType[*handshakeSignError](err); !ok {
					err = &handshakeSignError{err: fmt.Errorf("transport: TLSConfig.GetClientCertificate: %w", err)}
				}
				return c, err
			}
			if leaf := leafOf(c); leaf != nil {
				if why := keyMismatch(c, leaf); why != "" {
					// The server would refuse the handshake's signature
					// ("error decrypting message"): not sent.
					return nil, &handshakeSignError{err: fmt.Errorf(
						"transport: TLSConfig.GetClientCertificate returned a certificate (%q): %s", leaf.Subject.CommonName, why)}
				}
			}
			return b.wrapKey(c), nil
		}
		return
	}
	if len(tc.Certificates) == 0 {
		return
	}
	certs := slices.Clone(tc.Certificates)
	for i := range certs {
		certs[i] = *b.wrapKey(&certs[i])
	}
	tc.Certificates = certs
}

// withSignError returns err, the error of a request, with the client key
// signer's error crypto/tls dropped when err is its TLS 1.3 "tls: failed
// to sign handshake: ..." and one of the Base's recent signer failures
// has that text (the latest such one: concurrent handshakes may fail with
// texts of their own). (Over TLS 1.2, err is the signer's error already.)
func (b *Base) withSignError(err error) error {
	if !b.signErrs.any.Load() {
		return err
	}
	if _, ok := errors.AsType[*handshakeSignError](err); ok {
		return err
	}
	var se *handshakeSignError
	innermost(err, func(s string) bool {
		if strings.HasPrefix(s, signFailedPrefix) {
			se = b.signErrs.find(s[len(signFailedPrefix):])
		}
		return se != nil
	})
	if se != nil {
		return &signFailure{err: err, key: se}
	}
	return err
}

// isSignFailed reports whether s is crypto/tls's TLS 1.3 error for a
// client key whose signer failed, whatever the signer said.
func isSignFailed(s string) bool { return strings.HasPrefix(s, signFailedPrefix) }
