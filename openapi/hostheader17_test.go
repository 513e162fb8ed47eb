package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A request whose Host names another authority than its URL (a call to
// an address with the API's name as Host, a virtual host) goes, with that
// Host, to the server the Host names: net/http sends it as Host or
// :authority, and a virtual-hosting upstream serves it by that name. It is
// matched against the description's servers by the Host, not the URL's
// host the connection is dialed to.
func TestHostHeaderNamesTheServer(t *testing.T) {
	for _, tc := range []struct {
		name, url, host string
		allowUnknown    bool
		violation       bool
	}{
		// The API's host as Host, dialed by address: its operation, and
		// validated, AllowUnknownRoutes or not.
		{"address, API host, invalid, unknown routes allowed", "https://10.0.0.5/v1/pets?limit=99999", "api.example.test", true, true},
		{"address, API host, invalid", "https://10.0.0.5/v1/pets?limit=99999", "api.example.test", false, true},
		{"address, API host, valid", "https://10.0.0.5/v1/pets?limit=5", "api.example.test", false, false},
		{"address, API host in upper case, valid", "https://10.0.0.5/v1/pets?limit=5", "API.example.test", false, false},
		// Another host as Host is no server of the description: an
		// unknown route, whatever the URL's host.
		{"API URL, other host", "https://api.example.test/v1/pets?limit=5", "admin.example.test", false, true},
		{"API URL, other host, unknown routes allowed", "https://api.example.test/v1/pets?limit=5", "admin.example.test", true, false},
		// A Host equal to the URL's is the URL's.
		{"same host", "https://api.example.test/v1/pets?limit=5", "api.example.test", false, false},
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, `[]`, "Content-Type", "application/json"))
		rt := newLayer(t, next, openapi.Config{AllowUnknownRoutes: tc.allowUnknown})
		req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
		req.Host = tc.host
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		var ve *openapi.ViolationError
		if got := errors.As(err, &ve) && errors.Is(err, transport.ErrSchemaViolation); got != tc.violation {
			t.Errorf("%s: err = %v, want violation %v", tc.name, err, tc.violation)
		}
		want := 1
		if tc.violation {
			want = 0
		}
		if n := len(next.Requests()); n != want {
			t.Errorf("%s: %d requests sent, want %d", tc.name, n, want)
		}
	}
}
