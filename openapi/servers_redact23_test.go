package openapi_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
)

// TestServersConfigErrorHidesCredentials: Config.Servers takes the API's
// base URLs, which configuration may hand over with credentials in them
// (userinfo, a query token: the service's configured base URL). One that
// does not parse (a typo, a bad escape) is refused with a *ConfigError
// naming Servers, whose message must not repeat the password or the
// token: the error is logged. The *url.Error stays reachable.
func TestServersConfigErrorHidesCredentials(t *testing.T) {
	const secret = "s3cr3t-servers-7c1d"
	for _, u := range []string{
		"https://user:" + secret + "@api example.test",
		"https://user:" + secret + "@api.example.test/v1/%zz",
		"https://api.example.test/%zz?token=" + secret,
		"https://user:p#" + secret + "@api.example.test",
		"https://user:" + secret + "@[::1%zz]/v1",
	} {
		_, err := openapi.New(nil, openapi.Config{Spec: spec(t, "pets.yaml"), Servers: []string{u}})
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != "Servers" {
			t.Errorf("%q: %v, want a *ConfigError naming Servers", u, err)
			continue
		}
		if strings.Contains(strings.ToLower(err.Error()), strings.ToLower(secret)) {
			t.Errorf("%q: the error repeats the secret: %v", u, err)
		}
		if strings.Contains(err.Error(), "user:p") {
			t.Errorf("%q: the error shows a piece of the userinfo: %v", u, err)
		}
		var ue *url.Error
		if !errors.As(err, &ue) {
			t.Errorf("%q: %v: no *url.Error reachable", u, err)
		}
	}
}
