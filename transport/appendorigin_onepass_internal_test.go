package transport

import (
	"net/url"
	"strings"
	"testing"
)

// appendOriginRef and validOriginPartsRef are appendOrigin and
// validOriginParts as they were before appendOrigin's one pass over the
// host: the reference the one-pass version must agree with on every URL.
// The port loses its leading zeros (session 18: ":0443" is dialed as 443).
// A URL without a scheme or a host has no origin (session 19).
func appendOriginRef(b []byte, u *url.URL) []byte {
	h, port := u.Host, ""
	if i := strings.LastIndexByte(h, ':'); i >= 0 && i > strings.LastIndexByte(h, ']') {
		h, port = h[:i], h[i+1:] // "host:" has the default port
		for len(port) > 1 && port[0] == '0' {
			port = port[1:]
		}
	}
	if !isASCII(h) && len(h) <= maxIDNLen {
		h, _ = originHostRef(h)
	} else {
		h = strings.TrimSuffix(h, ".")
	}
	if !validOriginPartsRef(u.Scheme, h, port) {
		return append(b, invalidOrigin...)
	}
	b = appendLower(b, u.Scheme)
	b = append(b, "://"...)
	b = appendLower(b, h)
	if port != "" {
		b = append(b, ':')
		return appendLower(b, port)
	}
	switch {
	case strings.EqualFold(u.Scheme, "https"):
		return append(b, ":443"...)
	case strings.EqualFold(u.Scheme, "http"):
		return append(b, ":80"...)
	}
	return append(b, ':')
}

func validOriginPartsRef(scheme, host, port string) bool {
	hostLen := len(host)
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		hostLen -= 2
	}
	if scheme == "" || hostLen == 0 {
		return false
	}
	if len(scheme) > maxSchemeLen || hostLen > maxHostLen || len(port) > maxPortLen {
		return false
	}
	for i := 0; i < len(scheme); i++ {
		if c := scheme[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; c <= ' ' || c == 0x7f || c == '@' || c == '/' || c == '\\' || c == '?' || c == '#' {
			return false
		}
	}
	for i := 0; i < len(port); i++ {
		if c := port[i]; c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func TestAppendOriginOnePassAgreesWithRef(t *testing.T) {
	hosts := []string{
		"", ".", "api.example.test", "API.Example.test.", "api.example.test:8443",
		"api.example.test:", "api.example.test.:0443", "api.example.test:84a3",
		"[::1]", "[::1]:8443", "[FE80::1%25ETH0]:1", "[", "]", "[]", "::1",
		"user@host", "user:pw@host:8443", "a b", "a\x00b", "a\x7fb", "a/b", "a\\b",
		"a?b", "a#b", "a@b", "bücher.example", "Bücher.Example.:443",
		"b\xffcher.example", "\u212A_svc.internal", "B\xffcher@x",
		strings.Repeat("a", 253), strings.Repeat("a", 253) + ".", strings.Repeat("a", 254),
		"[" + strings.Repeat("a", 253) + "]", "[" + strings.Repeat("a", 254) + "]",
		strings.Repeat("ü", 200), strings.Repeat("ü", 300), "h:" + strings.Repeat("1", 20),
		"h:0", "h:000", "h:000000443", "h:0000000000012345", "h:0123456", "h:00x1",
	}
	schemes := []string{"https", "http", "HTTPS", "Http", "ws", "", "1x", "a+b", "a\x00", strings.Repeat("s", 40)}
	for _, scheme := range schemes {
		for _, h := range hosts {
			u := &url.URL{Scheme: scheme, Host: h}
			got := string(appendOrigin([]byte("k\x00"), u))
			want := string(appendOriginRef([]byte("k\x00"), u))
			if got != want {
				t.Errorf("appendOrigin(%q, %q) = %q; want %q", scheme, h, got, want)
			}
		}
	}
}

func TestValidOriginPartsAgreesWithRef(t *testing.T) {
	for _, h := range []string{"", "a", "a b", "a\x00", "a\x7f", "a@b", "a/b", "a\\b", "a?b", "a#b", "ü", "a\xff", "[::1]"} {
		for _, port := range []string{"", "1", "x", "123456"} {
			if got, want := validOriginParts("https", h, port), validOriginPartsRef("https", h, port); got != want {
				t.Errorf("validOriginParts(https, %q, %q) = %v; want %v", h, port, got, want)
			}
		}
	}
}

func FuzzAppendOriginOnePass(f *testing.F) {
	f.Add("https", "User:pw@API.Example.test.:0443")
	f.Add("http", "bücher.example")
	f.Fuzz(func(t *testing.T, scheme, host string) {
		u := &url.URL{Scheme: scheme, Host: host}
		got := string(appendOrigin(nil, u))
		want := string(appendOriginRef(nil, u))
		if got != want {
			t.Errorf("appendOrigin(%q, %q) = %q; want %q", scheme, host, got, want)
		}
		for _, p := range [...][3]string{{scheme, host, ""}, {"https", host, ""}, {"https", "h", host}} {
			if g, w := validOriginParts(p[0], p[1], p[2]), validOriginPartsRef(p[0], p[1], p[2]); g != w {
				t.Errorf("validOriginParts(%q, %q, %q) = %v; want %v", p[0], p[1], p[2], g, w)
			}
		}
	})
}
