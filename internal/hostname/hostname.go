// Package hostname converts host names the way net/http does, for the
// securecall packages that must key or match a host as net/http dials
// and sends it.
package hostname

import (
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// ToASCII returns the host name h in the ASCII form net/http converts it
// to before it dials and sends it (IDNA2008 lookup, idna.Lookup): an
// internationalised name in its punycode form ("bücher.example" is
// "xn--bcher-kva.example"). An ASCII h is returned as it is, whatever its
// case, at no allocation; a non-ASCII h that does not convert is an error,
// which each caller handles its own way (refuse the name, or keep it as
// written, as net/http does).
func ToASCII(h string) (string, error) {
	for i := 0; i < len(h); i++ {
		if h[i] >= utf8.RuneSelf {
			return idna.Lookup.ToASCII(h)
		}
	}
	return h, nil
}
