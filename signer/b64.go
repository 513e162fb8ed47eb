package signer

import (
	"encoding/binary"
	"slices"
)

// b64Std and b64URL are the alphabets of base64.StdEncoding and
// base64.RawURLEncoding (RFC 4648 sections 4 and 5).
var (
	b64Std = [64]byte([]byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"))
	b64URL = [64]byte([]byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
)

// appendBase64 appends the base64 encoding of src in alphabet to dst, padded
// with '=' when pad: what base64.StdEncoding (b64Std, pad) and
// base64.RawURLEncoding (b64URL, no pad) AppendEncode append, byte for
// byte (TestAppendBase64), in fewer instructions for the few dozen bytes of
// a nonce or a signature: six bytes at a time from one 64-bit load, with
// none of the general encoder's per-call set-up.
func appendBase64(dst, src []byte, alphabet *[64]byte, pad bool) []byte {
	n := (len(src)*8 + 5) / 6
	if pad {
		n = (len(src) + 2) / 3 * 4
	}
	dst = slices.Grow(dst, n)
	out := dst[len(dst) : len(dst)+n]
	o := 0
	for len(src) >= 8 { // 8 bytes readable: 6 encoded from one load
		v := binary.BigEndian.Uint64(src)
		w := out[o : o+8]
		w[0] = alphabet[v>>58]
		w[1] = alphabet[v>>52&63]
		w[2] = alphabet[v>>46&63]
		w[3] = alphabet[v>>40&63]
		w[4] = alphabet[v>>34&63]
		w[5] = alphabet[v>>28&63]
		w[6] = alphabet[v>>22&63]
		w[7] = alphabet[v>>16&63]
		src = src[6:]
		o += 8
	}
	for len(src) >= 3 {
		v := uint(src[0])<<16 | uint(src[1])<<8 | uint(src[2])
		w := out[o : o+4]
		w[0] = alphabet[v>>18&63]
		w[1] = alphabet[v>>12&63]
		w[2] = alphabet[v>>6&63]
		w[3] = alphabet[v&63]
		src = src[3:]
		o += 4
	}
	switch len(src) {
	case 1:
		v := uint(src[0])
		out[o] = alphabet[v>>2]
		out[o+1] = alphabet[v<<4&63]
		if pad {
			out[o+2], out[o+3] = '=', '='
		}
	case 2:
		v := uint(src[0])<<8 | uint(src[1])
		out[o] = alphabet[v>>10&63]
		out[o+1] = alphabet[v>>4&63]
		out[o+2] = alphabet[v<<2&63]
		if pad {
			out[o+3] = '='
		}
	}
	return dst[:len(dst)+n]
}
