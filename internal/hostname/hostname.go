// Package hostname converts host names the way net/http does, for the
// securecall packages that must key or match a host as net/http dials
// and sends it.
package hostname

import (
	"errors"
	"strings"

	"golang.org/x/net/idna"

	"github.com/securecall/securecall/internal/ascii"
)

// ToASCII returns the host name h in the ASCII form net/http converts it
// to before it dials and sends it (IDNA2008 lookup, idna.Lookup): an
// internationalised name in its punycode form ("bücher.example" is
// "xn--bcher-kva.example"). An ASCII h is returned as it is, whatever its
// case, at no allocation; a non-ASCII h that does not convert is an error,
// which each caller handles its own way (refuse the name, or keep it as
// written, as net/http does).
func ToASCII(h string) (string, error) {
	if ascii.Is(h) {
		return h, nil
	}
	return idna.Lookup.ToASCII(h)
}

// HostPort converts the host of hostport (a URL's Host or a
// Request.Host: "host", "host:port") as ToASCII does, its port kept as
// written: the digits after the last colon, as url.URL.Hostname splits
// it. It is the form securecall's base transport sends a non-ASCII host
// in. An ASCII hostport is returned as it is, at no allocation; a
// non-ASCII host that does not convert, or a bracketed one (an IPv6
// literal, whose zone alone can be non-ASCII), is an error.
func HostPort(hostport string) (string, error) {
	if ascii.Is(hostport) {
		return hostport, nil
	}
	if hostport[0] == '[' {
		return "", errBracketed
	}
	host, port := hostport, ""
	if c := strings.LastIndexByte(hostport, ':'); c >= 0 && allDigits(hostport[c+1:]) {
		host, port = hostport[:c], hostport[c:]
	}
	a, err := idna.Lookup.ToASCII(host)
	if err != nil {
		return "", err
	}
	return a + port, nil
}

var errBracketed = errors.New("hostname: a non-ASCII bracketed host")

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
