// Package hostname converts host names the way net/http does, for the
// securecall packages that must key or match a host as net/http dials
// and sends it.
package hostname

import (
	"errors"
	"fmt"
	"net/http"
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
	if c := strings.LastIndexByte(hostport, ':'); c >= 0 && ascii.AllDigits(hostport[c+1:]) {
		host, port = hostport[:c], hostport[c:]
	}
	a, err := idna.Lookup.ToASCII(host)
	if err != nil {
		return "", err
	}
	return a + port, nil
}

var errBracketed = errors.New("hostname: a non-ASCII bracketed host")

// LookupRequest returns a shallow copy of req (the caller's request is
// not changed) whose URL host and Host, where not ASCII, are in the ASCII
// form net/http dials (HostPort: idna.Lookup's punycode, lower-case, "。"
// a dot, the name normalised, the port as written), so that it is sent as
// the host it is dialed as: net/http (go1.26) dials and pools an HTTP/2
// connection under that form but looks it up under idna.ToASCII's, which
// does not map ("xn--BCHER-2pa" for "BÜCHER"), and for a name whose two
// forms differ dials again and again until the context ends
// (golang/go#80417, #81010). A name that does not convert is left as
// written (net/http's two forms of it are then the same); an IPv6 literal
// with a non-ASCII zone, which net/http's HTTP/2 transport keys with its
// brackets and its dial without, is an error wrapping invalid: no
// interface has such a name.
func LookupRequest(req *http.Request, invalid error) (*http.Request, error) {
	r := *req
	if !ascii.Is(req.URL.Host) {
		h, err := lookupHostPort(req.URL.Host, invalid)
		if err != nil {
			return nil, err
		}
		u := *req.URL
		u.Host = h
		r.URL = &u
	}
	if !ascii.Is(req.Host) {
		h, err := lookupHostPort(req.Host, invalid)
		if err != nil {
			return nil, err
		}
		r.Host = h
	}
	return &r, nil
}

// lookupHostPort converts the host of hostport (a URL's Host or a
// Request.Host: "host", "host:port", "[v6]:port") as LookupRequest does.
func lookupHostPort(hostport string, invalid error) (string, error) {
	if strings.HasPrefix(hostport, "[") {
		return "", fmt.Errorf("%w: a non-ASCII IPv6 zone in the host", invalid)
	}
	if a, err := HostPort(hostport); err == nil {
		return a, nil
	}
	return hostport, nil
}
