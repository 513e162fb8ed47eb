package signer

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
)

// Algorithm is an HTTP Message Signature algorithm, named as in the RFC 9421
// algorithm registry.
type Algorithm string

// Supported algorithms.
const (
	// HMACSHA256 is "hmac-sha256": HMAC with SHA-256 over the signature
	// base, with a shared secret of at least MinHMACKeySize bytes. Anyone who
	// can verify can also sign (RFC 9421 §7.3.3).
	HMACSHA256 Algorithm = "hmac-sha256"
	// Ed25519 is "ed25519": EdDSA over Curve25519 (RFC 8032). The verifier
	// needs only the public key.
	Ed25519 Algorithm = "ed25519"
)

// MinHMACKeySize is the smallest hmac-sha256 secret NewHMACKey accepts, in
// bytes (256 bits, the output size of SHA-256).
const MinHMACKeySize = 32

// MaxKeyIDLength is the longest key id the constructors accept, in bytes.
// The id is sent as the keyid parameter of every signature, and a
// Verifier refuses a Signature-Input field larger than
// MaxSignatureFieldSize (64 KiB) as ErrMalformed, so a key with a longer
// id would make a Signer whose every request is refused. 1 KiB holds any
// key name or cloud key resource name (a KMS key ARN, a Key Vault key
// URL) and leaves room, escaped (up to 2 KiB on the wire), for
// MaxSignatures members in one field; it also bounds what the id adds to
// each entry of a verifier's nonce store.
const MaxKeyIDLength = 1024

// Key is key material with its key id and algorithm. It signs (an HMAC
// secret or an Ed25519 private key) and verifies (any key, including an
// Ed25519 public key made with NewEd25519PublicKey). A Key is safe for
// concurrent use and must not be copied; pass *Key around.
//
// The key id, given to every constructor, must be 1 to MaxKeyIDLength
// bytes of printable ASCII (0x20-0x7E, what an sf-string may hold);
// any other is a *ConfigError whose Option is "keyID".
//
// A Key never prints its material: String, GoString and LogValue show only
// the key id and algorithm, and fmt's reflective printing of a value holding
// a *Key (for %s, %q, ... on a pointer it cannot call Format on) shows only
// an address where the material is.
type Key struct {
	id  string
	alg Algorithm
	// mat is the signing material, nil for a verification-only key. It is
	// set once, by the constructor, and kept behind an atomic.Pointer only
	// for printing: fmt shows its unsafe.Pointer as an address whatever the
	// verb. A *Key reached through unexported fields (a StaticKey, a Signer
	// or Verifier, a caller's struct) is printed by reflection, not by
	// Format, and for a verb fmt has no case for on a pointer (%s, %q) fmt
	// prints the Key's fields, so a plain []byte field showed the secret.
	mat atomic.Pointer[keyMaterial]
	pub ed25519.PublicKey

	quotedID []byte // the keyid serialised as an sf-string, "..."
	macs     sync.Pool
}

// NewHMACKey returns an hmac-sha256 key. The secret is copied; it must be at
// least MinHMACKeySize bytes of random data (decode base64 or hex secrets
// first: the key is the bytes, not their text). A shorter secret, or one
// of zero bytes only (a buffer never filled: a dropped rand.Read error, a
// decode into the wrong slice), is a *ConfigError wrapping ErrWeakKey.
func NewHMACKey(keyID string, secret []byte) (*Key, error) {
	if err := checkKeyID(keyID); err != nil {
		return nil, err
	}
	if len(secret) < MinHMACKeySize {
		return nil, &ConfigError{Option: "secret", Reason: "hmac-sha256 needs at least " + strconv.Itoa(MinHMACKeySize) + " bytes, got " + strconv.Itoa(len(secret)), Err: ErrWeakKey}
	}
	var or byte
	for _, b := range secret {
		or |= b
	}
	if or == 0 {
		return nil, &ConfigError{Option: "secret", Reason: "hmac-sha256 secret is all zero bytes", Err: ErrWeakKey}
	}
	k := &Key{id: keyID, alg: HMACSHA256}
	k.mat.Store(&keyMaterial{secret: bytes.Clone(secret)})
	k.init()
	return k, nil
}

// NewEd25519Key returns an ed25519 signing key. priv must be a full
// ed25519.PrivateKey (seed followed by the public key) whose public half
// matches its seed.
func NewEd25519Key(keyID string, priv ed25519.PrivateKey) (*Key, error) {
	if err := checkKeyID(keyID); err != nil {
		return nil, err
	}
	if len(priv) != ed25519.PrivateKeySize {
		return nil, &ConfigError{Option: "priv", Reason: "ed25519 private key must be " + strconv.Itoa(ed25519.PrivateKeySize) + " bytes", Err: ErrWeakKey}
	}
	derived := ed25519.NewKeyFromSeed(priv.Seed())
	if !bytes.Equal(derived, priv) {
		return nil, &ConfigError{Option: "priv", Reason: "ed25519 public half does not match the seed", Err: ErrWeakKey}
	}
	pub := derived.Public().(ed25519.PublicKey)
	k := &Key{id: keyID, alg: Ed25519, pub: pub}
	k.mat.Store(&keyMaterial{priv: derived})
	k.init()
	return k, nil
}

// NewEd25519PublicKey returns a verification-only ed25519 key. A point of
// small order (the identity, all zero bytes, ...) or a y coordinate
// encoded at or above the field prime is a *ConfigError wrapping
// ErrWeakKey: crypto/ed25519 verifies, with such a key, signatures made
// without any private key.
func NewEd25519PublicKey(keyID string, pub ed25519.PublicKey) (*Key, error) {
	if err := checkKeyID(keyID); err != nil {
		return nil, err
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, &ConfigError{Option: "pub", Reason: "ed25519 public key must be " + strconv.Itoa(ed25519.PublicKeySize) + " bytes", Err: ErrWeakKey}
	}
	if reason := edWeakPublic(pub); reason != "" {
		return nil, &ConfigError{Option: "pub", Reason: "ed25519 public key " + reason, Err: ErrWeakKey}
	}
	k := &Key{id: keyID, alg: Ed25519, pub: bytes.Clone(pub)}
	k.init()
	return k, nil
}

// edSmallOrderY are the y coordinates (little-endian, below the field
// prime p = 2^255-19) of the Edwards25519 points of small order, each
// standing for the point and its negation (the sign bit): 0 (order 4), 1
// (the identity), p-1 (order 2) and the two of order 8.
var edSmallOrderY = [...][32]byte{
	{},
	{1},
	{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
	{0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
}

// edWeakPublic says why pub, a 32-byte ed25519 public key, is not a key
// to verify with, or "" when it is one: a y at or above p (RFC 8032
// §5.1.3 refuses the encoding), or a point of small order, with which
// signatures verify that no private key made ([S]B = R verifies every
// message under the identity).
func edWeakPublic(pub []byte) string {
	var y [32]byte
	copy(y[:], pub)
	y[31] &= 0x7f // the sign of x
	aboveP := y[0] >= 0xed && y[31] == 0x7f
	for _, b := range y[1:31] {
		aboveP = aboveP && b == 0xff
	}
	if aboveP {
		return "is not canonical (y is not below 2^255-19)"
	}
	for _, w := range edSmallOrderY {
		if y == w {
			return "is a point of small order"
		}
	}
	return ""
}

func checkKeyID(id string) error {
	if id == "" {
		return &ConfigError{Option: "keyID", Reason: "empty key id"}
	}
	if len(id) > MaxKeyIDLength {
		return &ConfigError{Option: "keyID", Reason: "key id is " + strconv.Itoa(len(id)) + " bytes, longer than MaxKeyIDLength (" + strconv.Itoa(MaxKeyIDLength) + ")"}
	}
	if !validSFString(id) {
		return &ConfigError{Option: "keyID", Reason: "key id must be printable ASCII"}
	}
	return nil
}

func (k *Key) init() {
	k.quotedID = appendSFString(nil, k.id)
	if k.alg == HMACSHA256 {
		secret := k.secret()
		k.macs.New = func() any { return hmac.New(sha256.New, secret) }
	}
}

// ID returns the key id, sent as the keyid signature parameter.
func (k *Key) ID() string { return k.id }

// Algorithm returns the key's algorithm.
func (k *Key) Algorithm() Algorithm { return k.alg }

// CanSign reports whether k holds signing material (an HMAC secret or an
// Ed25519 private key).
func (k *Key) CanSign() bool { return k.mat.Load() != nil }

// keyMaterial is a Key's signing material: an HMAC secret or an Ed25519
// private key.
type keyMaterial struct {
	secret []byte
	priv   ed25519.PrivateKey
}

// secret returns k's HMAC secret, nil for any other key.
func (k *Key) secret() []byte {
	if m := k.mat.Load(); m != nil {
		return m.secret
	}
	return nil
}

// priv returns k's Ed25519 private key, nil for any other key.
func (k *Key) priv() ed25519.PrivateKey {
	if m := k.mat.Load(); m != nil {
		return m.priv
	}
	return nil
}

// Public returns the key a verifier needs: k itself for HMAC (the secret is
// shared), a verification-only key for Ed25519.
func (k *Key) Public() *Key {
	if k.alg != Ed25519 || k.priv() == nil {
		return k
	}
	p, _ := NewEd25519PublicKey(k.id, k.pub)
	return p
}

// String describes the key without its material.
func (k *Key) String() string {
	if k == nil {
		return "signer.Key(nil)"
	}
	return "signer.Key{id=" + strconv.Quote(k.id) + ", alg=" + string(k.alg) + "}"
}

// GoString describes the key without its material (the %#v verb).
func (k *Key) GoString() string { return k.String() }

// Format implements fmt.Formatter so that every verb prints String: the
// verbs fmt does not route to String (%d, %c, %o, %b, ...) would otherwise
// print the struct's fields, the HMAC secret or Ed25519 private key among
// them, byte by byte.
func (k *Key) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, k.GoString())
		return
	}
	_, _ = io.WriteString(f, k.String())
}

// LogValue implements slog.LogValuer: only the key id and algorithm.
func (k *Key) LogValue() slog.Value {
	if k == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.String("id", k.id), slog.String("alg", string(k.alg)))
}

// sign appends the signature of base to dst.
func (k *Key) sign(dst, base []byte) ([]byte, error) {
	m := k.mat.Load()
	switch {
	case m != nil && m.secret != nil:
		h := k.macs.Get().(hash.Hash)
		h.Reset()
		h.Write(base)
		dst = h.Sum(dst)
		k.macs.Put(h)
		return dst, nil
	case m != nil && m.priv != nil:
		return append(dst, ed25519.Sign(m.priv, base)...), nil
	default:
		return dst, &ConfigError{Option: "key", Reason: "key " + strconv.Quote(k.id) + " is verification-only"}
	}
}

// verify reports whether sig is a valid signature of base. MACs are
// compared in constant time.
func (k *Key) verify(base, sig []byte) bool {
	switch k.alg {
	case HMACSHA256:
		var buf [sha256.Size]byte
		h := k.macs.Get().(hash.Hash)
		h.Reset()
		h.Write(base)
		mac := h.Sum(buf[:0])
		k.macs.Put(h)
		return hmac.Equal(mac, sig)
	case Ed25519:
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(k.pub, base, sig)
	}
	return false
}
