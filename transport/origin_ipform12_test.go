package transport_test

import (
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestParseOriginIPStandardForm: an origin whose host is an IP address
// written out of its standard form ("127.1", "2130706433", "0x7f.0.0.1",
// "[0::1]") matches only a request URL spelled the same way (OriginOf
// compares hosts as written), which Go's resolver cannot dial (a legacy
// IPv4 form is looked up as a name) or which names the address another
// URL spells in its standard form: ParseOrigin refuses it, naming the
// origin to write. Hex case is no spelling (OriginOf lower-cases it).
func TestParseOriginIPStandardForm(t *testing.T) {
	for in, want := range map[string]string{
		"https://127.1":                  "https://127.0.0.1",
		"https://2130706433":             "https://127.0.0.1",
		"https://0x7f.0.0.1:8443":        "https://127.0.0.1:8443",
		"https://0177.0.0.1":             "https://127.0.0.1",
		"https://127.1.":                 "https://127.0.0.1",
		"https://[0::1]":                 "https://[::1]",
		"https://[0:0:0:0:0:0:0:1]:8443": "https://[::1]:8443",
		"https://[::ffff:7f00:1]":        "https://[::ffff:127.0.0.1]",
		"https://[fe80:0::1%25eth0]":     "https://[fe80::1%25eth0]",
	} {
		_, err := transport.ParseOrigin(in)
		if err == nil || !strings.Contains(err.Error(), `"`+want+`"`) {
			t.Errorf("ParseOrigin(%q) = %v, want an error naming %q", in, err, want)
		}
	}
	for _, ok := range []string{"https://127.0.0.1", "https://127.0.0.1.", "https://[::1]:8443", "https://[FE80::1]", "https://[::ffff:10.0.0.5]", "https://[fe80::1%25ETH0]", "https://api.example.com", "https://1.example.com", "https://0x7f.example.com"} {
		if _, err := transport.ParseOrigin(ok); err != nil {
			t.Errorf("ParseOrigin(%q): %v", ok, err)
		}
	}
}
