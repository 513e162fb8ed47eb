// Package ascii holds byte checks several securecall packages share.
package ascii

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
