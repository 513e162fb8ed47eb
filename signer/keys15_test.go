package signer

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/big"
	"net/http"
	"slices"
	"testing"
)

// TestVerifyRefusesEmptyAlg: a signature whose alg parameter is present
// but empty (alg="") names no algorithm, so it cannot match the key's; the
// verifier took it for an absent alg and accepted it. ParseSignatureInput
// refuses it as malformed, so that Alg is empty only when alg is absent,
// and the verifier refuses that signature.
func TestVerifyRefusesEmptyAlg(t *testing.T) {
	k := testKey(t, "k")
	for _, alg := range []string{`;alg=""`, ``} {
		params := `("@method" "@authority" "@path");created=1777636800;nonce="abcdefghijklmnopqrstuv";keyid="k"` + alg
		base := "\"@method\": GET\n\"@authority\": example.com\n\"@path\": /x\n\"@signature-params\": " + params
		sig, err := k.sign(nil, []byte(base))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", "https://example.com/x", nil)
		req.Header.Set("Signature-Input", "sig1="+params)
		req.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(sig)+":")
		v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Required: []Component{Method}})
		res, err := v.Verify(serverView(t, req), t0)
		if alg == "" {
			if err != nil {
				t.Errorf("no alg: Verify = %v, want accepted (the algorithm comes from the key)", err)
			}
			continue
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("alg=\"\": Verify = %+v, %v; want ErrMalformed", res, err)
		}
		if _, err := ParseSignatureInput("sig1=" + params); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseSignatureInput(alg=\"\") = %v, want ErrMalformed", err)
		}
	}
}

// forgedForSmallOrder returns a signature (R, S) = ([s]B, s) for a scalar
// s: with a public key A of small order whose [k]A is the identity (always
// for the identity point), [S]B = R + [k]A holds for every message, so it
// verifies whatever was signed, and no private key was needed.
func forgedForSmallOrder(t *testing.T) []byte {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	seed[0] = 7
	r := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey) // [s]B
	h := sha512.Sum512(seed)
	a := h[:32]
	a[0] &= 248
	a[31] &= 127
	a[31] |= 64
	slices.Reverse(a)
	L, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	s := new(big.Int).Mod(new(big.Int).SetBytes(a), L)
	sb := s.FillBytes(make([]byte, 32))
	slices.Reverse(sb)
	return append(slices.Clone(r), sb...)
}

// lowOrderX25519 is an independent check that y (little-endian, below p)
// is the y of a point of small order: its Montgomery u = (1+y)/(1-y) is a
// low-order X25519 point, which crypto/ecdh refuses. y = 1 is the identity.
func lowOrderX25519(t *testing.T, yLE []byte) bool {
	t.Helper()
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	be := slices.Clone(yLE)
	be[31] &= 0x7f
	slices.Reverse(be)
	y := new(big.Int).SetBytes(be)
	if y.Cmp(big.NewInt(1)) == 0 {
		return true
	}
	den := new(big.Int).Mod(new(big.Int).Sub(big.NewInt(1), y), p)
	u := new(big.Int).Mul(new(big.Int).Add(big.NewInt(1), y), new(big.Int).ModInverse(den, p))
	ub := u.Mod(u, p).FillBytes(make([]byte, 32))
	slices.Reverse(ub)
	pk, err := ecdh.X25519().NewPublicKey(ub)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ecdh.X25519().GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = priv.ECDH(pk)
	return err != nil
}

// TestNewEd25519PublicKeyRefusesSmallOrder: NewEd25519PublicKey took any
// 32 bytes, among them the encodings of the points of small order (the
// identity, all zeros as an unfilled buffer gives, ...). crypto/ed25519
// verifies with such a key signatures made without any private key (for
// the identity, one signature verifies for every message), so a verifier
// holding one accepted forged requests under its keyid. They are weak keys:
// a *ConfigError naming pub, wrapping ErrWeakKey; so is an encoding of y
// that is not below p (RFC 8032 §5.1.3 refuses it).
func TestNewEd25519PublicKeyRefusesSmallOrder(t *testing.T) {
	identity := make([]byte, 32)
	identity[0] = 1
	forged := forgedForSmallOrder(t)
	for _, msg := range []string{"GET /", "DELETE /accounts/1"} {
		if !ed25519.Verify(identity, []byte(msg), forged) {
			t.Fatalf("forged signature does not verify for %q with the identity key", msg)
		}
	}

	ys := []string{
		"0000000000000000000000000000000000000000000000000000000000000000", // order 4
		"0100000000000000000000000000000000000000000000000000000000000000", // identity
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2 (y = p-1)
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
	}
	var weak [][]byte
	for _, h := range ys {
		y, _ := hex.DecodeString(h)
		if !lowOrderX25519(t, y) {
			t.Fatalf("%s is not of small order", h)
		}
		neg := slices.Clone(y)
		neg[31] |= 0x80 // the sign bit: x negated, same order
		weak = append(weak, y, neg)
	}
	for _, h := range []string{
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p: y = 0 not reduced
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p+1: the identity
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	} {
		y, _ := hex.DecodeString(h)
		weak = append(weak, y)
	}
	for _, pub := range weak {
		k, err := NewEd25519PublicKey("k", pub)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != "pub" || !errors.Is(err, ErrWeakKey) {
			t.Errorf("NewEd25519PublicKey(%x) = %v, %v; want a *ConfigError naming pub, wrapping ErrWeakKey", pub, k, err)
		}
	}
	// Real keys, and the RFC 9421 test key, are fine.
	for range 20 {
		pub, _, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewEd25519PublicKey("k", pub); err != nil {
			t.Errorf("NewEd25519PublicKey(%x): %v", pub, err)
		}
	}
	if k := rfcEd25519Key(t).Public(); k == nil || k.CanSign() {
		t.Errorf("RFC 9421 test key: public %v", k)
	}
}
