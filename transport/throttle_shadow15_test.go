package transport_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// The first matching HostLimit wins: a limit after one that matches every
// host it does never applies, and the throttle took it silently.
func TestThrottleHostShadowedRefused(t *testing.T) {
	for _, tc := range []struct {
		hosts []transport.HostLimit
		field string // "" = accepted
	}{
		{[]transport.HostLimit{{Pattern: "*", Rate: 10}, {Pattern: "api.example.com", Rate: 1}}, "ThrottleConfig.Hosts[1].Pattern"},
		{[]transport.HostLimit{{Pattern: "a.test", Rate: 1}, {Pattern: "*.example.com", Rate: 10}, {Pattern: "api.example.com", Rate: 1}}, "ThrottleConfig.Hosts[2].Pattern"},
		{[]transport.HostLimit{{Pattern: "*.example.com", Rate: 10}, {Pattern: "*.api.example.com", Rate: 1}}, "ThrottleConfig.Hosts[1].Pattern"},
		{[]transport.HostLimit{{Pattern: "[::1]:8443", Rate: 10}, {Pattern: "[::1]:8443", Rate: 1}}, "ThrottleConfig.Hosts[1].Pattern"},
		{[]transport.HostLimit{{Pattern: "Api.Example.com.", Rate: 10}, {Pattern: "api.example.com", Rate: 1}}, "ThrottleConfig.Hosts[1].Pattern"},
		{[]transport.HostLimit{{Pattern: "api.example.com", Rate: 1}, {Pattern: "*.example.com", Rate: 10}, {Pattern: "*", Rate: 100}}, ""},
		{[]transport.HostLimit{{Pattern: "*.example.com", Rate: 10}, {Pattern: "example.com", Rate: 1}, {Pattern: "api.example.com:8443", Rate: 1}}, ""},
		{[]transport.HostLimit{{Pattern: "*.example.com", Rate: 10}, {Pattern: "*.xample.com", Rate: 1}, {Pattern: "*.api.example.com:8443", Rate: 1}}, ""},
	} {
		_, err := transport.NewThrottle(nil, transport.ThrottleConfig{Hosts: tc.hosts})
		if tc.field == "" {
			if err != nil {
				t.Errorf("%v: %v", tc.hosts, err)
			}
			continue
		}
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.field || !strings.Contains(err.Error(), "never applies") {
			t.Errorf("%v: err = %v, want a ConfigError naming %s", tc.hosts, err, tc.field)
		}
	}
}
