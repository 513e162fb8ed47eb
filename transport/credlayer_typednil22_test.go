package transport_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// A nil pointer held in the auth and API-key layers' Source (a
// *tokens.ClientCredentials variable never assigned) is not a nil
// interface: NewAuth and NewAPIKey took it, and every request in scope
// then panicked in the source. As they refuse a zero value of the same
// type, they now refuse it with a *ConfigError naming the field.
func TestCredLayersRefuseTypedNilSource(t *testing.T) {
	scope, err := transport.ParseOrigins("https://api.example")
	if err != nil {
		t.Fatal(err)
	}
	var cc *tokens.ClientCredentials
	check := func(what, field string, f func() (http.RoundTripper, error)) {
		t.Helper()
		rt, err := f()
		if err == nil && rt != nil {
			func() {
				defer func() {
					if r := recover(); r != nil {
						err = errors.New("the layer was built and its first request panicked")
					}
				}()
				req, _ := http.NewRequest(http.MethodGet, "https://api.example/x", nil)
				if resp, rerr := rt.RoundTrip(req); rerr == nil {
					resp.Body.Close()
				}
			}()
		}
		wantZeroConfigErr(t, what, err, field)
	}
	stub := roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("not sent") })
	check("NewAuth", "AuthConfig.Source", func() (http.RoundTripper, error) {
		return transport.NewAuth(stub, transport.AuthConfig{Source: cc, Scope: scope})
	})
	check("NewAPIKey", "APIKeyConfig.Source", func() (http.RoundTripper, error) {
		return transport.NewAPIKey(stub, transport.APIKeyConfig{Source: cc, Scope: scope})
	})
}
