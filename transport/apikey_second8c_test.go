package transport_test

import (
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestAPIKeyQueryRemovalKeepsNeighboursApart: removing a stale key that
// sat between an "&" and a ";" must not join its neighbours with the ";":
// "a=1&api_key=old;b=2" sent as "a=1;b=2" is, to the many servers that
// split only at "&" (net/http, Python, Node, servlets), the parameter a
// with the value "1;b=2": a legitimate parameter's value changed by the
// key layer. Joined with "&", a keeps its value for every server.
func TestAPIKeyQueryRemovalKeepsNeighboursApart(t *testing.T) {
	next := transporttest.NewResponder()
	rt := newAPIKey(t, next, transport.APIKeyConfig{Source: staticKey("real"), QueryParam: "api_key"})
	for raw, want := range map[string]string{
		"a=1&api_key=old;b=2": "a=1&b=2&api_key=real",
		"a=1;api_key=old;b=2": "a=1;b=2&api_key=real",
		"a=1;api_key=old&b=2": "a=1&b=2&api_key=real",
	} {
		roundTripOK(t, rt, authReq(t, "GET", "https://api.example.test/v1?"+raw, ""))
		reqs := next.Requests()
		if got := reqs[len(reqs)-1].URL.RawQuery; got != want {
			t.Errorf("query %q sent as %q, want %q", raw, got, want)
		}
	}
}
