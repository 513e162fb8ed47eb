package signer

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/dunglas/httpsfv"
)

// DigestAlgorithm is an RFC 9530 digest algorithm key, as it appears in
// Content-Digest. Only the two algorithms with "Active" status are
// supported; deprecated ones (md5, sha, unixsum, ...) and unregistered ones
// (sha-384) are never trusted.
type DigestAlgorithm string

// Supported digest algorithms.
const (
	DigestSHA256 DigestAlgorithm = "sha-256"
	DigestSHA512 DigestAlgorithm = "sha-512"
)

// DefaultDigest is the algorithm a Signer uses for the Content-Digest it
// adds when Options.Digest is empty.
const DefaultDigest = DigestSHA256

var (
	sha256Pool = sync.Pool{New: func() any { return sha256.New() }}
	sha512Pool = sync.Pool{New: func() any { return sha512.New() }}
)

// size returns the digest size of a, or 0 when a is not supported.
func (a DigestAlgorithm) size() int {
	switch a {
	case DigestSHA256:
		return sha256.Size
	case DigestSHA512:
		return sha512.Size
	}
	return 0
}

func (a DigestAlgorithm) getHash() hash.Hash {
	var h hash.Hash
	if a == DigestSHA512 {
		h = sha512Pool.Get().(hash.Hash)
	} else {
		h = sha256Pool.Get().(hash.Hash)
	}
	h.Reset()
	return h
}

func (a DigestAlgorithm) putHash(h hash.Hash) {
	if a == DigestSHA512 {
		sha512Pool.Put(h)
	} else {
		sha256Pool.Put(h)
	}
}

// Digest is one member of a Content-Digest field.
type Digest struct {
	Algorithm DigestAlgorithm
	Value     []byte
}

// ContentDigest reads content to EOF and returns the Content-Digest field
// value for it, for example `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`.
// With several algorithms the members appear in the order given; with none
// it uses DefaultDigest. content is streamed, never held in memory.
func ContentDigest(content io.Reader, algs ...DigestAlgorithm) (string, error) {
	if len(algs) == 0 {
		algs = []DigestAlgorithm{DefaultDigest}
	}
	hs := make([]hash.Hash, len(algs))
	ws := make([]io.Writer, len(algs))
	for i, a := range algs {
		if a.size() == 0 {
			return "", &ConfigError{Option: "algs", Reason: fmt.Sprintf("unsupported digest algorithm %q", string(a))}
		}
		hs[i] = a.getHash()
		ws[i] = hs[i]
	}
	defer func() {
		for i, a := range algs {
			a.putHash(hs[i])
		}
	}()
	buf := getCopyBuf()
	defer putCopyBuf(buf)
	if _, err := io.CopyBuffer(io.MultiWriter(ws...), content, *buf); err != nil {
		return "", fmt.Errorf("signer: content digest: %w", err)
	}
	var out []byte
	var sum [sha512.Size]byte
	for i, a := range algs {
		if i > 0 {
			out = append(out, ',', ' ')
		}
		out = appendDigestMember(out, a, hs[i].Sum(sum[:0]))
	}
	return string(out), nil
}

func appendDigestMember(dst []byte, a DigestAlgorithm, sum []byte) []byte {
	dst = append(dst, a...)
	dst = append(dst, '=', ':')
	dst = appendBase64(dst, sum, &b64Std, true)
	return append(dst, ':')
}

// ParseContentDigest parses Content-Digest field values (several field
// lines form one Dictionary). Every member must be a Byte Sequence; a
// member for a supported algorithm must have that algorithm's digest size.
// Members for other algorithms are returned as they are and ignored by
// VerifyContentDigest. A sha-256 or sha-512 key appearing more than once
// (on one line or several) is refused: a Dictionary keeps the last value
// (RFC 8941), only that one would be checked, and r.Header.Get reads the
// first line. Any other deviation, including invalid base64 such as a
// 32-byte digest written with "==", is an error wrapping ErrMalformed.
func ParseContentDigest(values ...string) ([]Digest, error) {
	d, err := httpsfv.UnmarshalDictionary(values)
	if err != nil {
		return nil, fmt.Errorf("%w: content-digest: %v", ErrMalformed, err)
	}
	names := d.Names()
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: content-digest: empty", ErrMalformed)
	}
	out := make([]Digest, 0, len(names))
	for _, n := range names {
		m, _ := d.Get(n)
		it, ok := m.(httpsfv.Item)
		if !ok {
			return nil, fmt.Errorf("%w: content-digest: member %q is not an item", ErrMalformed, n)
		}
		b, ok := it.Value.([]byte)
		if !ok {
			return nil, fmt.Errorf("%w: content-digest: member %q is not a byte sequence", ErrMalformed, n)
		}
		a := DigestAlgorithm(n)
		if sz := a.size(); sz != 0 && len(b) != sz {
			return nil, fmt.Errorf("%w: content-digest: %s digest has %d bytes, want %d", ErrMalformed, n, len(b), sz)
		}
		out = append(out, Digest{Algorithm: a, Value: b})
	}
	if a := repeatedDigestKey(values); a != "" {
		return nil, fmt.Errorf("%w: content-digest: more than one %s member", ErrMalformed, a)
	}
	return out, nil
}

// repeatedDigestKey returns the supported algorithm (sha-256, sha-512)
// whose key appears more than once in values, a valid Dictionary, or "".
// A Dictionary keeps a repeated key's last value (RFC 8941 §4.2.2), and
// only that one is checked against the content, while r.Header.Get reads
// the first line: a repeated key is refused as ambiguous. In a valid
// Dictionary a comma outside a String separates members (field lines
// included: they join with ", "), and a member starts with its key.
func repeatedDigestKey(values []string) DigestAlgorithm {
	var seen256, seen512, inString, escaped bool
	for _, v := range values {
		start := !inString
		for i := 0; i < len(v); i++ {
			c := v[i]
			switch {
			case inString:
				if escaped {
					escaped = false
				} else if c == '\\' {
					escaped = true
				} else if c == '"' {
					inString = false
				}
			case start:
				if c == ' ' || c == '\t' {
					continue
				}
				start = false
				j := i
				for j < len(v) && v[j] != '=' && v[j] != ';' && v[j] != ',' && v[j] != ' ' && v[j] != '\t' {
					j++
				}
				switch DigestAlgorithm(v[i:j]) {
				case DigestSHA256:
					if seen256 {
						return DigestSHA256
					}
					seen256 = true
				case DigestSHA512:
					if seen512 {
						return DigestSHA512
					}
					seen512 = true
				}
				i = j - 1
			case c == '"':
				inString = true
			case c == ',':
				start = true
			}
		}
	}
	return ""
}

// VerifyContentDigest checks the Content-Digest field values against
// content, which it reads to EOF (streaming). Every supported member must
// match; at least one supported member must be present. A mismatch, or no
// supported member, is an error wrapping ErrDigestMismatch; an unparsable
// field one wrapping ErrMalformed. The digest is of the content as sent,
// after any content coding: a response body net/http decompressed
// (Response.Uncompressed, when it asked for gzip itself) is not that
// content, and a correct digest fails.
func VerifyContentDigest(content io.Reader, values ...string) error {
	ds, err := ParseContentDigest(values...)
	if err != nil {
		return err
	}
	return verifyDigests(ds, content)
}

func verifyDigests(ds []Digest, content io.Reader) error {
	var use []Digest
	for _, d := range ds {
		if d.Algorithm.size() != 0 {
			use = append(use, d)
		}
	}
	if len(use) == 0 {
		return fmt.Errorf("%w: no sha-256 or sha-512 member", ErrDigestMismatch)
	}
	hs := make([]hash.Hash, len(use))
	ws := make([]io.Writer, len(use))
	for i, d := range use {
		hs[i] = d.Algorithm.getHash()
		ws[i] = hs[i]
	}
	defer func() {
		for i, d := range use {
			d.Algorithm.putHash(hs[i])
		}
	}()
	buf := getCopyBuf()
	defer putCopyBuf(buf)
	if _, err := io.CopyBuffer(io.MultiWriter(ws...), content, *buf); err != nil {
		return fmt.Errorf("signer: content digest: %w", err)
	}
	var sum [sha512.Size]byte
	for i, d := range use {
		if subtle.ConstantTimeCompare(hs[i].Sum(sum[:0]), d.Value) != 1 {
			return fmt.Errorf("%w: %s", ErrDigestMismatch, d.Algorithm)
		}
	}
	return nil
}

// copyBufSize is the buffer used to stream bodies through hashes: the only
// memory hashing a body of any size needs.
const copyBufSize = 32 << 10

var copyBufPool = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

func getCopyBuf() *[]byte  { return copyBufPool.Get().(*[]byte) }
func putCopyBuf(b *[]byte) { copyBufPool.Put(b) }
