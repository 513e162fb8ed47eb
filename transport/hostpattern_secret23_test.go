package transport_test

import (
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestHostPatternErrorsDoNotRepeatURL: a HostLimit pattern or a PinSet
// host is a host, but configuration may hand it a URL by mistake (the
// API's base URL from the environment, with its credentials as userinfo
// or in the query). The constructors refuse it, as the egress allowlist
// does, without repeating it: the error ends up in logs.
func TestHostPatternErrorsDoNotRepeatURL(t *testing.T) {
	const secret = "S3CR3T-hostpattern"
	for _, p := range []string{
		"https://user:" + secret + "@api.example.com",
		"user:" + secret + "@api.example.com",
		secret + "@api.example.com",
		"https://api.example.com/?token=" + secret,
		"api.example.com/v1?api_key=" + secret,
		"api.example.com#" + secret,
		"https://user:" + secret + "@*.example.com",
		"*.example.com/x?token=" + secret,
		"https://u:p/" + secret + "@api.example.com",
		"https://api.example.com:" + secret,
		"api.example.com\\" + secret,
	} {
		var errs []error
		errs = append(errs, transport.CheckHostPattern(p))
		_, err := transport.NewThrottle(nil, transport.ThrottleConfig{Hosts: []transport.HostLimit{{Pattern: p, Rate: 1, Burst: 1}}})
		errs = append(errs, err)
		_, err = transport.NewBase(transport.BaseConfig{Pins: []transport.PinSet{{Host: p, Pins: []string{
			"sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
			"sha256/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=",
		}}}})
		errs = append(errs, err)
		for i, err := range errs {
			if err == nil {
				t.Errorf("%q (check %d): accepted", p, i)
				continue
			}
			if strings.Contains(strings.ToLower(err.Error()), strings.ToLower(secret)) {
				t.Errorf("%q (check %d): the error repeats the secret: %v", p, i, err)
			}
		}
	}
}
