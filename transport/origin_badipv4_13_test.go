package transport_test

import (
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestParseOriginInvalidIPv4: a host whose last label is a number but
// which is no valid IPv4 address ("https://256.1.1.1", "1.2.3.999",
// "1.2.3.4.5") is refused, as the egress allowlist refuses the entry:
// Go's resolver looks no all-numeric name up and a proxy or the WHATWG
// URL parser reads it as a failed address, so the origin names nothing.
// ParseOrigin took it as a name. The error does not repeat the input. A
// name with a number in a label that is not the last stays a name.
func TestParseOriginInvalidIPv4(t *testing.T) {
	for _, in := range []string{"https://256.1.1.1", "https://1.2.3.999:8443", "https://1.2.3.4.5", "http://0x100.0.0.1", "https://1.2.3.0x1ff", "https://999", "https://256.1.1.1."} {
		_, err := transport.ParseOrigin(in)
		if err == nil || !strings.HasPrefix(err.Error(), "transport: origin: ") {
			t.Errorf("ParseOrigin(%q): %v, want a transport: origin error", in, err)
			continue
		}
		if h := strings.TrimPrefix(strings.TrimPrefix(in, "https://"), "http://"); strings.Contains(err.Error(), h) {
			t.Errorf("ParseOrigin(%q): %v repeats the input", in, err)
		}
	}
	for _, ok := range []string{"https://1.2.3.4", "https://255.255.255.255:8443", "https://1.example.com", "https://api.999.example.com", "https://0x7f.example"} {
		if _, err := transport.ParseOrigin(ok); err != nil {
			t.Errorf("ParseOrigin(%q): %v", ok, err)
		}
	}
}
