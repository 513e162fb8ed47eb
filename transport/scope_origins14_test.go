package transport_test

import (
	"net/http"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// The credential layers kept a Scope that is an Origins as the caller's
// slice: an origin the caller rewrote in place after construction (the
// list reused for its next layer) moved where the credential went, and
// past the checks construction had made of the list.

// scopeMoved builds a layer over an Origins of api.example.test, rewrites
// the caller's slice to evil.example.test, and returns what the layer sent
// to each host.
func scopeMoved(t *testing.T, build func(next http.RoundTripper, scope transport.Origins) http.RoundTripper) (api, evil transporttest.RecordedRequest) {
	t.Helper()
	next := transporttest.NewResponder()
	scope := mustOrigins(t, "https://api.example.test")
	rt := build(next, scope)
	scope[0] = mustOrigins(t, "https://evil.example.test")[0]

	roundTripOK(t, rt, authReq(t, "GET", "https://api.example.test/v1", ""))
	roundTripOK(t, rt, authReq(t, "GET", "https://evil.example.test/v1", ""))
	reqs := next.Requests()
	return reqs[0], reqs[1]
}

func TestAPIKeyScopeCopiedAtNew(t *testing.T) {
	api, evil := scopeMoved(t, func(next http.RoundTripper, scope transport.Origins) http.RoundTripper {
		return newAPIKey(t, next, transport.APIKeyConfig{Source: staticKey("k-123"), Scope: scope})
	})
	if got := evil.Header.Get("X-Api-Key"); got != "" {
		t.Errorf("evil.example.test got the key %q", got)
	}
	if got := api.Header.Get("X-Api-Key"); got != "k-123" {
		t.Errorf("api.example.test got X-Api-Key %q, want k-123", got)
	}
}

func TestAuthScopeCopiedAtNew(t *testing.T) {
	api, evil := scopeMoved(t, func(next http.RoundTripper, scope transport.Origins) http.RoundTripper {
		rt, err := transport.NewAuth(next, transport.AuthConfig{Source: staticKey("tok"), Scope: scope})
		if err != nil {
			t.Fatal(err)
		}
		return rt
	})
	if got := evil.Header.Get("Authorization"); got != "" {
		t.Errorf("evil.example.test got Authorization %q", got)
	}
	if got := api.Header.Get("Authorization"); got == "" {
		t.Error("api.example.test got no Authorization")
	}
}

func TestSignScopeCopiedAtNew(t *testing.T) {
	api, evil := scopeMoved(t, func(next http.RoundTripper, scope transport.Origins) http.RoundTripper {
		return newSignLayer(t, next, scope, nil)
	})
	if got := evil.Header.Get("Signature"); got != "" {
		t.Errorf("evil.example.test got a signature %q", got)
	}
	if got := api.Header.Get("Signature"); got == "" {
		t.Error("api.example.test got no signature")
	}
}
