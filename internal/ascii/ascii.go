// Package ascii holds byte checks several securecall packages share.
package ascii

import "strings"

// HasCTL reports whether s holds an ASCII control character (NUL to US:
// CR, LF and tab among them) or DEL, the bytes net/http refuses in a
// request-target and a header value cannot carry safely.
func HasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' || b == 0x7f {
			return true
		}
	}
	return false
}

// Is reports whether s is all ASCII (no byte of 0x80 or above). It reads
// eight bytes at a time: it runs on every request's host name, several
// times (the signer's @authority, the base transport, the scope check).
func Is(s string) bool {
	for len(s) >= 8 {
		first := uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
		second := uint32(s[4]) | uint32(s[5])<<8 | uint32(s[6])<<16 | uint32(s[7])<<24
		if (first|second)&0x80808080 != 0 {
			return false
		}
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// IsToken reports whether s is a non-empty RFC 9110 token (§5.6.2: an
// auth-scheme, a media type's type or subtype): tchar only, no space,
// control, non-ASCII or delimiter.
func IsToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return s != ""
}
