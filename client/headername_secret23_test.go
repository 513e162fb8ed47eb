package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// TestInvalidHeaderNameConfigErrorsHideTheLine: an option that takes a
// header name is most often handed a whole header line by mistake
// ("X-Session-Token: <token>", copied from a curl command or a .http
// file), whose value is a credential. New and the layer constructors
// refuse it with a *ConfigError naming the option that must not repeat
// the value: the error is logged. The valid start of the name is still
// shown, as redact.FieldName shows a request's invalid header name.
func TestInvalidHeaderNameConfigErrorsHideTheLine(t *testing.T) {
	const line = "X-Session-Token: " + canaryMark + "-HEADERLINE"
	key := tokens.Static(tokens.NewToken("k", "", time.Time{}))
	hk, err := signer.NewHMACKey("k", canaryHMACKey)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, err error) {
		t.Helper()
		var ce *client.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s: %v, want a *ConfigError", what, err)
			return
		}
		if l := leaks(errDump(err)); len(l) > 0 {
			t.Errorf("%s: the error repeats the header line: %v", what, err)
		}
	}
	for name, o := range map[string][]client.Option{
		"WithAPIKey":           {client.WithOrigins("https://api.example.com"), client.WithAPIKey(line, key)},
		"WithSensitiveHeaders": {client.WithSensitiveHeaders(line)},
		"WithVisibleHeaders":   {client.WithVisibleHeaders(line)},
	} {
		_, err := client.New(o...)
		check(name, err)
	}
	_, err = transport.NewAPIKey(nil, transport.APIKeyConfig{Source: key, Header: line})
	check("APIKeyConfig.Header", err)
	_, err = transport.NewAuth(nil, transport.AuthConfig{Source: key, Header: line})
	check("AuthConfig.Header", err)
	_, err = transport.NewRetry(nil, transport.RetryConfig{IdempotencyHeader: line})
	check("RetryConfig.IdempotencyHeader", err)
	_, err = signer.New(signer.Options{Keys: signer.StaticKey(hk), Components: []signer.Component{signer.Field(line)}})
	check("signer Options.Components", err)
	_, err = signer.New(signer.Options{Keys: signer.StaticKey(hk), StructuredFields: map[string]signer.FieldType{line: signer.SFItem}})
	check("signer Options.StructuredFields", err)
}
