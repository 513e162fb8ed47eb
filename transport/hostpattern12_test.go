package transport_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestHostPatternInHostKeyForm: HostKey holds an IP address in its
// standard form and a port without leading zeros, so an exact HostLimit
// pattern written otherwise would never match and its limit would never
// apply: the throttle's constructor refuses it, naming the option and the
// form to write. Patterns in HostKey's form are taken.
func TestHostPatternInHostKeyForm(t *testing.T) {
	for pattern, want := range map[string]string{
		"[0::1]":                "[::1]",
		"[0:0:0:0:0:0:0:1]":     "[::1]",
		"[::ffff:127.0.0.1]":    "127.0.0.1",
		"127.1":                 "127.0.0.1",
		"0x7f.0.0.1":            "127.0.0.1",
		"api.example.com:08443": "api.example.com:8443",
	} {
		err := transport.CheckHostPattern(pattern)
		if err == nil || !strings.Contains(err.Error(), `"`+want+`"`) {
			t.Errorf("pattern %q: %v, want an error naming %q", pattern, err, want)
		}
		_, err = transport.NewThrottle(nil, transport.ThrottleConfig{Hosts: []transport.HostLimit{{Pattern: pattern, Rate: 1, Burst: 1}}})
		var ce *transport.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("NewThrottle with pattern %q: %v, want a ConfigError", pattern, err)
		}
	}
	for _, ok := range []string{"[::1]", "[::1]:8443", "127.0.0.1", "10.0.0.5:8080", "api.example.com", "API.Example.com.", "api.example.com:8443", "*.example.com", "*", "[fe80::1%eth0]", "[FE80::1%eth0]"} {
		if err := transport.CheckHostPattern(ok); err != nil {
			t.Errorf("pattern %q refused: %v", ok, err)
		}
	}
}
