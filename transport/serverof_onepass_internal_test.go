package transport

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// serverOfRef is serverOf as it was before its one-pass split (with the
// host name normalised as originHostRef and ipv4Key do, an IPv6 literal
// as ipLiteralKey does without its brackets): the reference the one-pass
// version must agree with on every
// Host.
func serverOfRef(u *url.URL) (string, int) {
	if i := strings.LastIndexByte(u.Host, '@'); i >= 0 {
		c := *u
		c.Host = u.Host[i+1:]
		u = &c
	}
	host, port := u.Hostname(), u.Port()
	if !strings.Contains(u.Host, "["+host+"]") {
		host, _ = originHostRef(host)
		host = ipv4Key(host)
	} else if k, ok := ipLiteralKey("[" + host + "]"); ok {
		host = strings.TrimSuffix(strings.TrimPrefix(k, "["), "]")
	}
	host = validUTF8(host)
	if len(host) > maxHostLen {
		host = invalidHostKey
	}
	if port != "" {
		if p, err := strconv.Atoi(port); err == nil {
			return host, p
		}
		return host, 0
	}
	switch u.Scheme {
	case "https":
		return host, 443
	case "http":
		return host, 80
	}
	return host, 0
}

func TestServerOfOnePassAgreesWithURLSplit(t *testing.T) {
	hosts := []string{
		"", "api.example.test", "API.Example.test:8443", "api.example.test:",
		"api.example.test:0443", "api.example.test:99999999999999999999",
		"api.example.test:84a3", "api.example.test:+1", "[::1]", "[::1]:8443",
		"[::1]:", "[::1]x", "[", "]", "[]", "[]:1", "::1", "a:b:c", ":",
		"user@host", "user:pw@host:8443", "u@[::1]:1", "@", "@:", "a@b@c:1",
		"a:1@b", "bücher.example", "b\xffcher.example:443", "\xff@host",
		"host\xff", "[\xff]:2", "API.Example.test.", "api.example.test.:8443",
		"BÜCHER.example.", "b\xffCHER.example.", "[FE80::1%ETH0]:1", "[0::1]", "[::ffff:7f00:1]:2", "127.1", "0x7f.1:3", "u@2130706433", "[A]", "[A]x", ".", "..",
		"u@HOST.", strings.Repeat("A", 253) + ".", "h:\xff1", strings.Repeat("a", 253),
		strings.Repeat("a", 254), strings.Repeat("a", 254) + ":1",
		"x@" + strings.Repeat("a", 254),
	}
	for _, scheme := range []string{"https", "http", "HTTPS", "ws", ""} {
		for _, h := range hosts {
			u := &url.URL{Scheme: scheme, Host: h}
			gh, gp := serverOf(u)
			wh, wp := serverOfRef(u)
			if gh != wh || gp != wp {
				t.Errorf("serverOf(%q, %q) = %q, %d; want %q, %d", scheme, h, gh, gp, wh, wp)
			}
		}
	}
}

func FuzzServerOfOnePass(f *testing.F) {
	f.Add("https", "user:pw@[::1]:8443")
	f.Fuzz(func(t *testing.T, scheme, host string) {
		u := &url.URL{Scheme: scheme, Host: host}
		gh, gp := serverOf(u)
		wh, wp := serverOfRef(u)
		if gh != wh || gp != wp {
			t.Errorf("serverOf(%q, %q) = %q, %d; want %q, %d", scheme, host, gh, gp, wh, wp)
		}
	})
}

// serverOf's common case, a lower-case ASCII name (with or without a
// trailing dot, userinfo or a port), costs no allocation.
func TestServerOfLowerCaseASCIINoAllocs(t *testing.T) {
	for _, h := range []string{"api.example.test", "api.example.test.", "api.example.test:8443", "u@api.example.test.:8443", "[2001:db8::1]:8443", "127.0.0.1", "[fe80::1%eth0]"} {
		u := &url.URL{Scheme: "https", Host: h}
		if n := testing.AllocsPerRun(100, func() { serverOf(u) }); n != 0 {
			t.Errorf("serverOf(%q): %v allocs, want 0", h, n)
		}
	}
}
