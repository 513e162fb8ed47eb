package transport_test

import (
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// The query key replaced only a parameter whose (decoded) name equalled
// QueryParam exactly, so a URL built with another spelling of it kept that
// value next to the real key: PHP reads "api.key" and "api key" as
// api_key, ASP.NET compares names without case, Rack reads "[api_key]" as
// api_key, and servers that split at ";" read "a=1;api_key=x" as two
// parameters. Such a server then saw two keys, and which one it took (the
// caller's, possibly user-supplied, value first for ASP.NET model binding)
// was up to it. Every parameter a common server reads as the key is now
// removed, as the egress guard already recognises them.
func TestAPIKeyQueryReplacesEveryServerSpelling(t *testing.T) {
	next := transporttest.NewResponder()
	rt := newAPIKey(t, next, transport.APIKeyConfig{Source: staticKey("real"), QueryParam: "api_key"})
	for raw, want := range map[string]string{
		"API_KEY=evil&b=2":          "b=2&api_key=real",
		"a=1&api.key=evil":          "a=1&api_key=real",
		"a=1&api+key=evil&b=2":      "a=1&b=2&api_key=real",
		"Api_Key%00x=evil":          "api_key=real",
		"%5Bapi_key%5D=evil&z=9":    "z=9&api_key=real",
		"api_key[]=evil":            "api_key=real",
		"a=1;api_key=evil&b=2":      "a=1&b=2&api_key=real",
		"a=1;API_KEY=evil":          "a=1&api_key=real",
		"a=1;b=2&c=3":               "a=1;b=2&c=3&api_key=real", // nothing removed: kept as written
		"api_keys=1&x_api_key=2&a=": "api_keys=1&x_api_key=2&a=&api_key=real",
	} {
		roundTripOK(t, rt, authReq(t, "GET", "https://api.example.test/v1?"+raw, ""))
		reqs := next.Requests()
		if got := reqs[len(reqs)-1].URL.RawQuery; got != want {
			t.Errorf("query %q sent as %q, want %q", raw, got, want)
		}
	}

	// A key configured in another spelling removes the caller's
	// api_key too: PHP reads both as api_key.
	rt = newAPIKey(t, next, transport.APIKeyConfig{Source: staticKey("real"), QueryParam: "api.key"})
	roundTripOK(t, rt, authReq(t, "GET", "https://api.example.test/v1?api_key=evil&a=1", ""))
	reqs := next.Requests()
	if got := reqs[len(reqs)-1].URL.RawQuery; got != "a=1&api.key=real" {
		t.Errorf("sent %q, want %q", got, "a=1&api.key=real")
	}
}
