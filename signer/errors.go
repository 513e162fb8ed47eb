package signer

import (
	"errors"
	"strconv"
	"strings"

	"github.com/securecall/securecall/internal/configerr"
)

// Sentinel errors. Verification failures are returned as a *VerifyError
// that wraps exactly one of the verification sentinels; test for them with
// errors.Is.
var (
	// ErrMissingSignature: the request carries no Signature-Input or
	// Signature field, or none with the label the verifier asks for.
	ErrMissingSignature = errors.New("signer: missing signature")
	// ErrInvalidSignature: the signature does not verify over the
	// reconstructed signature base (wrong key, tampered message).
	ErrInvalidSignature = errors.New("signer: invalid signature")
	// ErrUnknownKey: the keyid is absent, unknown to the verifier, or not
	// among the accepted key ids.
	ErrUnknownKey = errors.New("signer: unknown key")
	// ErrAlgorithmMismatch: the alg parameter names an algorithm other than
	// the one of the key (RFC 9421 §7.3.6 downgrade). The algorithm always
	// comes from the key, never from the message.
	ErrAlgorithmMismatch = errors.New("signer: algorithm does not match the key")
	// ErrStale: created lies further in the past than the verifier's
	// maximum age plus clock skew.
	ErrStale = errors.New("signer: signature created too long ago")
	// ErrFuture: created lies further in the future than the clock skew.
	ErrFuture = errors.New("signer: signature created in the future")
	// ErrExpired: the expires parameter has passed (plus clock skew).
	ErrExpired = errors.New("signer: signature expired")
	// ErrReplay: the nonce was already used with this key inside the
	// replay window.
	ErrReplay = errors.New("signer: nonce replayed")
	// ErrDigestMismatch: the Content-Digest field does not match the
	// content, or names no supported algorithm.
	ErrDigestMismatch = errors.New("signer: content digest mismatch")
	// ErrMissingComponent: a component the signer was told to cover is
	// absent from the message, or a component the verifier requires is not
	// covered by the signature.
	ErrMissingComponent = errors.New("signer: missing component")
	// ErrMissingParameter: a signature parameter the verifier requires
	// (created, nonce, tag) is absent.
	ErrMissingParameter = errors.New("signer: missing signature parameter")
	// ErrTagMismatch: the tag parameter differs from the one required.
	ErrTagMismatch = errors.New("signer: tag mismatch")
	// ErrMalformed: Signature-Input, Signature or Content-Digest cannot be
	// parsed (or Content-Digest repeats a sha-256 or sha-512 key), or a
	// component identifier or parameter is invalid. Sign
	// returns it too for a covered component it cannot sign as sent: a
	// @path, @query, @request-target or @target-uri holding a space, or
	// the @scheme or @target-uri of a request whose absolute-form
	// URL.Opaque has another scheme than the URL's (see Sign).
	ErrMalformed = errors.New("signer: malformed signature field")
	// ErrBodyTooLarge: the content exceeds the verifier's body size cap, or
	// a server's http.MaxBytesReader cap in front of it (the
	// *http.MaxBytesError is wrapped too), so its digest was not checked.
	ErrBodyTooLarge = errors.New("signer: body too large to verify")
	// ErrBodyUnreadable: reading the content to check its digest failed
	// for another reason than a size cap (the client's connection reset, a
	// body shorter than its Content-Length, a chunked body cut short), so
	// the digest was not checked. The read error is wrapped too.
	// DefaultErrorHandler answers 400: the message did not arrive whole,
	// which says nothing about its signature.
	ErrBodyUnreadable = errors.New("signer: request body could not be read")
	// ErrNonceStoreFull: the replay store is at capacity with nonces that
	// have not expired; new signatures are refused (fail closed) until old
	// entries expire.
	ErrNonceStoreFull = errors.New("signer: nonce store full")
	// ErrBeyondRetention: a NonceStore was asked to hold a nonce until
	// further ahead than its maximum retention (MemoryNonceOptions and
	// fleet.NonceOptions MaxRetention), and refused: holding it less
	// long would let its signature be replayed once it was dropped.
	// DefaultErrorHandler answers 401.
	ErrBeyondRetention = errors.New("signer: nonce window ends beyond the nonce store's retention")
	// ErrUnavailable: the KeyLookup or the NonceStore failed for another
	// reason than an unknown key, a replay or a full store (a database
	// down), so the request could not be checked. It is refused (fail
	// closed); DefaultErrorHandler answers 503, as the caller is not at
	// fault. The backend's error is wrapped too.
	ErrUnavailable = errors.New("signer: key lookup or nonce store unavailable")
	// ErrBodyNotReplayable: content-digest must be computed but the request
	// has a body and no GetBody, so hashing it would consume the body; or
	// the request's GetBody gave no fresh copy of it but the request's
	// Body itself (or a nil body), when Sign computes Content-Digest or
	// checks the caller's: reading it would send the request with an
	// empty body. Nothing was read. The transport package's retry layer
	// and its 401 replay wrap it too when GetBody gives no fresh copy.
	ErrBodyNotReplayable = errors.New("signer: request body cannot be read again (no GetBody, or no fresh copy from it)")
	// ErrInvalidHost: Sign was to cover a component derived from the Host
	// (@authority, @target-uri, host, or the @request-target of a CONNECT)
	// but the request's Host is not a valid Host field value (a unix
	// socket path put in Request.Host): net/http would send an empty Host
	// over HTTP/1.1 (and refuse the request over HTTP/2), so the signature
	// could never verify. Also an IPv6 literal with a zone
	// ("[fe80::1%eth0]"), which net/http strips from the Host over
	// HTTP/1.1 but sends over HTTP/2, so the signature would verify on
	// one protocol only. Also a Host that is not the authority of an
	// absolute-form URL.Opaque ("//b.example/x" with Host "a.example"),
	// which a server takes the request for over HTTP/1.1 (RFC 9112
	// §3.2.2) and HTTP/2 refuses to send (@authority compared normalised:
	// case, default port of the Opaque's scheme). Nothing was signed.
	ErrInvalidHost = errors.New("signer: request Host is not a valid Host field value")
	// ErrLabelInUse: the request already carries a signature with the
	// signer's label (a member of Signature-Input or of Signature).
	ErrLabelInUse = errors.New("signer: signature label already in use")
	// ErrWeakKey: key material that is too short or of the wrong size, an
	// HMAC secret of zero bytes only, or an Ed25519 public key of small
	// order or not canonically encoded.
	ErrWeakKey = errors.New("signer: weak or malformed key")
	// ErrKeyUnavailable: the KeySource cannot supply the signing key right
	// now but may shortly (a keyring or secret manager briefly
	// unreachable). A KeySource reports this by returning an error that
	// wraps ErrKeyUnavailable; Sign returns it inside a *KeyError whose
	// Temporary is true, and the transport retry layer tries the request
	// again (it was never sent) without counting a host failure.
	ErrKeyUnavailable = errors.New("signer: signing key temporarily unavailable")
)

// KeyError is the error Sign returns when the KeySource fails: nothing was
// signed. Err is the source's error, wrapped as it is (it must not hold
// key material).
type KeyError struct {
	Err error
}

func (e *KeyError) Error() string { return "signer: signing key: " + e.Err.Error() }

func (e *KeyError) Unwrap() error { return e.Err }

// Temporary reports whether the source said the failure is transient: Err
// wraps ErrKeyUnavailable. (The transport retry layer also treats a source
// error matching tokens.IsUnavailable, a secret store that is unavailable,
// locked or timed out, as transient.) Any other failure is taken to be
// permanent: retrying would fail the same way.
func (e *KeyError) Temporary() bool { return errors.Is(e.Err, ErrKeyUnavailable) }

// ConfigError reports invalid signer, verifier or key configuration. Option
// names the offending field or argument ("Options.Label", "secret"). Err,
// when set, is the underlying cause (ErrWeakKey for a short HMAC key). It is
// the same type as transport.ConfigError and client.ConfigError.
type ConfigError = configerr.Error

// VerifyError is the error Verify returns. Err is one of the verification
// sentinels (ErrMissingSignature, ErrInvalidSignature, ErrUnknownKey,
// ErrStale, ErrFuture, ErrExpired, ErrReplay, ErrDigestMismatch,
// ErrMissingComponent, ...). Label and KeyID identify the signature when
// one was chosen; Detail names the component or parameter concerned. None
// of the fields ever holds key material.
type VerifyError struct {
	Label  string
	KeyID  string
	Detail string
	Err    error
}

func (e *VerifyError) Error() string {
	var b strings.Builder
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("signer: verification failed")
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Label != "" || e.KeyID != "" {
		b.WriteString(" (")
		if e.Label != "" {
			b.WriteString("label ")
			b.WriteString(strconv.Quote(e.Label))
		}
		if e.KeyID != "" {
			if e.Label != "" {
				b.WriteString(", ")
			}
			b.WriteString("keyid ")
			b.WriteString(strconv.Quote(e.KeyID))
		}
		b.WriteByte(')')
	}
	return b.String()
}

func (e *VerifyError) Unwrap() error { return e.Err }

func init() { configerr.RegisterZeroCheck(zeroReason) }

// zeroReason returns why v, a value of one of this package's types that
// was not made by its constructor (a zero value such as new(KeySet)) or
// holds no key (StaticKey(nil), StaticKey(new(Key))), cannot be used, and
// "" when it can. New, NewVerifier and the securecall
// constructors that accept a KeySource, a KeyLookup, a NonceStore or a
// *Signer refuse such a value with a *ConfigError.
func zeroReason(v any) string {
	switch v := v.(type) {
	case *KeySet:
		if v != nil && v.state.Load() == nil {
			return errZeroKeySet.Reason
		}
	case *Key:
		if v != nil && v.quotedID == nil {
			return errZeroKey.Reason
		}
	case staticKey:
		// StaticKey(nil) or StaticKey of a zero Key: every SigningKey and
		// LookupKey would fail.
		if v.k == nil {
			return "StaticKey of a nil key"
		}
		if v.k.quotedID == nil {
			return "StaticKey of " + errZeroKey.Reason
		}
	case *Signer:
		if v != nil && v.keys == nil {
			return errZeroSigner.Reason
		}
	case *Verifier:
		if v != nil && v.keys == nil {
			return errZeroVerifier.Reason
		}
	case *MemoryNonceStore:
		if v != nil && v.ticks == nil {
			return errZeroNonceStore.Reason
		}
	}
	return ""
}

// zeroErr returns a copy of e, one of the errors below, which the methods
// of a zero value return instead of panicking.
func zeroErr(e *ConfigError) *ConfigError { c := *e; return &c }

// The errors the methods of a zero value return (as copies).
var (
	errZeroKeySet     = &ConfigError{Option: "KeySet", Reason: "a zero signer.KeySet: not made by NewKeySet"}
	errZeroKey        = &ConfigError{Option: "Key", Reason: "a zero signer.Key: not made by NewHMACKey, NewEd25519Key or NewEd25519PublicKey"}
	errZeroSigner     = &ConfigError{Option: "Signer", Reason: "a zero signer.Signer: not made by New"}
	errZeroVerifier   = &ConfigError{Option: "Verifier", Reason: "a zero signer.Verifier: not made by NewVerifier"}
	errZeroNonceStore = &ConfigError{Option: "MemoryNonceStore", Reason: "a zero signer.MemoryNonceStore: not made by NewMemoryNonceStore"}
)
