package signer

// Hand-written serialisation of the few Structured Field shapes the signer
// emits on its hot path (strings, integers, keys). Parsing always goes
// through github.com/dunglas/httpsfv; the tests check that httpsfv parses
// what these functions write back to the same values.

// validSFString reports whether s can be serialised as an sf-string:
// printable ASCII (0x20-0x7E) only.
func validSFString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// appendSFString appends s as an sf-string ("..." with \ and " escaped).
// s must satisfy validSFString.
func appendSFString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

// validSFKey reports whether s is an sf key (a dictionary label or
// parameter name): lcalpha or "*", then lcalpha, DIGIT, "_", "-", ".", "*".
func validSFKey(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] == '*') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '*') {
			return false
		}
	}
	return true
}

// validFieldName reports whether s is a lower-case HTTP field name (token
// characters, no upper case).
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' ||
			c == '+' || c == '-' || c == '.' || c == '^' || c == '_' || c == '`' || c == '|' || c == '~':
		default:
			return false
		}
	}
	return true
}
