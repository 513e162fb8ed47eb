// Package ascii holds byte checks several securecall packages share.
package ascii

import "strings"

// HasCTL reports whether s holds an ASCII control character (NUL to US:
// CR, LF and tab among them) or DEL, the bytes net/http refuses in a
// request-target and a header value cannot carry safely. It reads eight
// bytes at a time: it runs on every request (the client's target check,
// the signer's covered field values).
func HasCTL[T string | []byte](s T) bool {
	for len(s) >= 8 {
		x := load8(s)
		// A byte below 0x20, or one equal to 0x7f (a zero byte of x^0x7f...).
		if y := x ^ 0x7f*lo8; (below(x, 0x20)|below(y, 1))&hi8 != 0 {
			return true
		}
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' || b == 0x7f {
			return true
		}
	}
	return false
}

// IsPrintable reports whether s is all printable ASCII, 0x20 (space) to
// 0x7e: no control character, DEL or byte of 0x80 or above, what an
// RFC 9421 derived component value may hold. It reads eight bytes at a
// time, as HasCTL does.
func IsPrintable[T string | []byte](s T) bool {
	for len(s) >= 8 {
		x := load8(s)
		// A byte below 0x20, or one above 0x7e (x+1 per byte sets the
		// high bit of a 0x7f; a byte of 0x80 or above has it already:
		// no byte at or below 0x7e carries into the next).
		if (below(x, 0x20)|(x+lo8)|x)&hi8 != 0 {
			return false
		}
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b > 0x7e {
			return false
		}
	}
	return true
}

const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// load8 returns the first eight bytes of s, little-endian (one load).
func load8[T string | []byte](s T) uint64 {
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// below returns a word whose byte has its high bit set (under hi8) for
// some byte of x below n (1 <= n <= 0x80) and for none when no byte is:
// a byte below n is the first to borrow, and a byte at or above n that
// does not borrow has its high bit clear in x-n or set in x.
func below(x uint64, n uint64) uint64 {
	return (x - n*lo8) &^ x
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

// IsHex reports whether b is a hexadecimal digit (0-9, a-f, A-F).
func IsHex(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
}

// Unhex returns the value of b, a hexadecimal digit (IsHex).
func Unhex(b byte) byte {
	switch {
	case b >= '0' && b <= '9':
		return b - '0'
	case b >= 'a' && b <= 'f':
		return b - 'a' + 10
	default:
		return b - 'A' + 10
	}
}

// AllDigits reports whether s holds only the ASCII digits 0-9 (true for
// the empty string: callers that need a number check for it).
func AllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
