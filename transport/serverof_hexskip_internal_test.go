package transport

import (
	"net/url"
	"testing"
)

// serverOf asks ipv4Key only for a name that can be an IPv4 address
// (e13da8a), and names a server as HostKey does. An IPv4 address whose
// last part is a bare "0x" (zero in hex, as the WHATWG URL parser and
// inet_aton read it, and HostKey's ipv4Key) ends in an 'x', not a hex
// digit: it was left as written, one server under two names.
func TestServerOfLegacyIPv4AsHostKey(t *testing.T) {
	for _, h := range []string{
		"127.1", "127.0.0.1", "2130706433", "0x7f000001", "0x7f.1", "0177.0.0.1",
		"0x7f.0.0.1:8443", "127.0.0.1.", "127.1.:8443", "u@0x7f.1",
		"127.0.0.0x", "127.0.0.0X", "127.0x", "0x", "0X:8443", "127.0.0.0x.",
		"0x7F.0.0.0x", "u@10.0x:1", "1.2.3.0x0", "256.1.1.1", "1.2.3.4.5",
		"api.example.test", "API.example.test.", "a.0x", "a.1", "bücher.0x",
		"BÜCHER.example.test", "example.com", "cafe", "0xcafe", "x.cafe",
	} {
		u := &url.URL{Scheme: "https", Host: h}
		got, _ := serverOf(u)
		key := hostKeyAttrs(HostKey(u), nil)[0].Value.AsString()
		if got != key {
			t.Errorf("serverOf(%q) = %q; want %q, the host of HostKey %q", h, got, key, HostKey(u))
		}
	}
}
