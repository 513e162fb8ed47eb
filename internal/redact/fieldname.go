package redact

import (
	"strconv"

	"golang.org/x/net/http/httpguts"
)

// maxFieldNameShown is the most of an invalid field name's valid start
// that FieldName shows.
const maxFieldNameShown = 64

// FieldName returns the header or trailer field name k quoted for an
// error message. A valid name is shown whole. An invalid one is shown up
// to the first byte that is not a token character, with its length: such
// a key is most often a whole header line used as the name
// ("Authorization: Bearer <token>"), and what follows the name is then a
// credential, which must not reach logs and spans through the error.
func FieldName(k string) string {
	if k == "" || httpguts.ValidHeaderFieldName(k) {
		return strconv.Quote(k)
	}
	i := 0
	for i < len(k) && httpguts.IsTokenRune(rune(k[i])) {
		i++
	}
	shown := k[:min(i, maxFieldNameShown)]
	return strconv.Quote(shown+"…") + " (" + strconv.Itoa(len(k)) + " bytes, not a token from byte " + strconv.Itoa(i+1) + " on)"
}
