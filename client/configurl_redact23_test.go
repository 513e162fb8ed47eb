package client_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// TestConfigErrorsDoNotRepeatSecretURL: every option that takes an
// origin, a host or a host pattern may be handed, by mistake, a URL that
// carries credentials (userinfo, a query token). New refuses it with a
// *ConfigError that must not repeat the secret: the error is logged.
func TestConfigErrorsDoNotRepeatSecretURL(t *testing.T) {
	const pw = canaryMark + "-PW"
	key := tokens.Static(tokens.NewToken(canaryMark+"-K", "", time.Time{}))
	urls := []string{
		"https://u:" + pw + "@api.example.com",
		"https://api.example.com/?token=" + pw,
		"https://api.example.com/#" + pw,
		"https://u:" + pw + "@api.example.com:99999",
		"https://u:" + pw + "@api example.com",
		"https://u:" + pw + "@[::1%zz]:443",
		"https://api.example.com/x%zz?token=" + pw,
		"http://u:" + pw + "@api.example.com",
		"ftp://u:" + pw + "@api.example.com",
		"//u:" + pw + "@api.example.com",
		"u:" + pw + "@api.example.com",
		"https://u:" + pw + "@*.example.com",
		"https://u:p/" + pw + "@api.example.com",
		"https://u:p#" + pw + "@api.example.com",
		"https://u:p?" + pw + "@api.example.com",
		"https://api.example.com:" + pw,
		"https://" + pw + ".example.com:99999",
	}
	for _, u := range urls {
		for name, o := range map[string][]client.Option{
			"origins":  {client.WithOrigins(u)},
			"redirect": {client.WithOrigins("https://ok.example.com"), client.WithRedirectOrigins(u)},
			"egress":   {client.WithEgressAllowlist(u)},
			"oauth2": {client.WithOrigins("https://ok.example.com"), client.WithOAuth2ClientCredentials(tokens.OAuth2Config{
				TokenURL: u, ClientID: "c", Auth: tokens.ClientSecretPost(tokens.StaticSecret([]byte(pw))),
			})},
			"apikey":     {client.WithOrigins(u), client.WithAPIKey("X-Api-Key", key)},
			"proxies":    {client.WithProxy(func(*http.Request) (*url.URL, error) { return nil, nil }), client.WithAllowedProxies(u)},
			"ratelimits": {client.WithRateLimits(transport.HostLimit{Pattern: u, Rate: 1, Burst: 1})},
			"pins":       {client.WithPins(transport.PinSet{Host: u, Pins: []string{"sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "sha256/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB="}})},
		} {
			_, err := client.New(o...)
			if err == nil {
				continue
			}
			var ce *client.ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("%s %q: %v, want a *ConfigError", name, u, err)
			}
			if l := leaks(errDump(err)); len(l) > 0 {
				t.Errorf("%s %q: %v", name, u, err)
			}
		}
	}
}
