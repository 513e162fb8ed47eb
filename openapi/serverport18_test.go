package openapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport/transporttest"
)

// spec18 is a description of one GET operation under servers, with a
// 200 of a JSON body and a header X-Rate (integer) and X-Tags (array of
// integers), and with the responses extra added to its list.
func spec18(servers, extra string) []byte {
	return []byte(`
openapi: 3.0.3
info: {title: s18, version: "1"}
servers: ` + servers + `
paths:
  /pets/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer, maximum: 10}}
      responses:
        "200":
          description: ok
          headers:
            X-Rate:
              schema: {type: integer, maximum: 10}
            X-Tags:
              schema: {type: array, items: {type: integer, maximum: 10}}
` + extra)
}

// call18 sends GET u through a layer of spec over a responder answering
// status and header kv, and returns the violation (Enforce mode) or nil,
// and the number of requests sent.
func call18(t *testing.T, spec []byte, u string, status int, kv ...string) (*openapi.ViolationError, int) {
	t.Helper()
	next := transporttest.NewResponder(transporttest.Respond(status, "", kv...))
	rt := newLayer(t, next, openapi.Config{Spec: spec})
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	resp, err := rt.RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	var ve *openapi.ViolationError
	if err != nil && !errors.As(err, &ve) {
		t.Fatalf("%s: %v", u, err)
	}
	return ve, len(next.Requests())
}

// TestServerMatchesOnItsPort: the router (gorilla/mux) matches a server
// written without a port on any port, and one written with the scheme's
// default port (":443") on none but a request naming that port: a
// request to another port is another service (or another API on the same
// host), which must not be validated as this server's, and the default
// port is the same server written either way.
func TestServerMatchesOnItsPort(t *testing.T) {
	for _, c := range []struct {
		server, url string
		match       bool
	}{
		{"https://api.example.test:8443/v1", "https://api.example.test:8443/v1/pets/99", true},
		{"https://api.example.test:8443/v1", "https://api.example.test/v1/pets/99", false},
		{"https://api.example.test:8443/v1", "https://api.example.test:443/v1/pets/99", false},
		{"https://api.example.test/v1", "https://api.example.test:8443/v1/pets/99", false},
		{"https://api.example.test/v1", "https://api.example.test:80/v1/pets/99", false},
		{"https://api.example.test/v1", "https://api.example.test:443/v1/pets/99", true},
		{"https://api.example.test/v1", "https://api.example.test/v1/pets/99", true},
		{"https://api.example.test:443/v1", "https://api.example.test/v1/pets/99", true},
		{"https://api.example.test:443/v1", "https://api.example.test:443/v1/pets/99", true},
		{"http://api.example.test/v1", "http://api.example.test:80/v1/pets/99", true},
		{"http://api.example.test:80/v1", "http://api.example.test/v1/pets/99", true},
		{"http://api.example.test/v1", "http://api.example.test:443/v1/pets/99", false},
		{"{scheme}://api.example.test/v1", "http://api.example.test:80/v1/pets/99", true},
		{"{scheme}://api.example.test/v1", "https://api.example.test:80/v1/pets/99", false},
		{"https://[2001:db8::1]:8443/v1", "https://[2001:db8::1]:8443/v1/pets/99", true},
		{"https://[2001:db8::1]:8443/v1", "https://[2001:db8::1]/v1/pets/99", false},
		{"https://[2001:db8::1]/v1", "https://[2001:db8::1]:443/v1/pets/99", true},
	} {
		servers := `[{url: "` + c.server + `"}]`
		if strings.HasPrefix(c.server, "{scheme}") {
			servers = `[{url: "` + c.server + `", variables: {scheme: {default: https, enum: [https, http]}}}]`
		}
		// An id over the maximum: a violation when matched, an unknown
		// route (sent as it is, AllowUnknownRoutes aside: a violation of
		// no route) when not.
		ve, _ := call18(t, spec18(servers, ""), c.url, 200)
		matched := ve != nil && ve.Route == "/v1/pets/{id}"
		if matched != c.match {
			t.Errorf("server %s, %s: violation %v, want matched %v", c.server, c.url, ve, c.match)
		}
	}
}
