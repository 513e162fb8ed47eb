package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// TestInvalidQueryParamConfigErrorHidesTheValue: WithAPIKeyInQuery (and
// APIKeyConfig.QueryParam) takes a parameter name, and is handed by
// mistake the whole pair copied from a URL ("api_key=<key>"), whose value
// is the key. The *ConfigError naming the option must not repeat it: the
// error is logged.
func TestInvalidQueryParamConfigErrorHidesTheValue(t *testing.T) {
	key := tokens.Static(tokens.NewToken("k", "", time.Time{}))
	for _, p := range []string{
		"api_key=" + canaryMark + "-QUERYPAIR",
		"?api_key=" + canaryMark + "-QUERYPAIR",
		"api_key=" + canaryMark + "-QUERYPAIR&page=2",
		"api key " + canaryMark,
	} {
		_, err := client.New(client.WithOrigins("https://api.example.com"), client.WithAPIKeyInQuery(p, key))
		_, err2 := transport.NewAPIKey(nil, transport.APIKeyConfig{Source: key, QueryParam: p})
		for i, err := range []error{err, err2} {
			var ce *client.ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("%q (%d): %v, want a *ConfigError", p, i, err)
				continue
			}
			if l := leaks(errDump(err)); len(l) > 0 {
				t.Errorf("%q (%d): the error repeats the value: %v", p, i, err)
			}
		}
	}
}
