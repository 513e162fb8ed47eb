package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
)

// TestServerHostNonASCIIThroughClient: a description whose server is
// written with a non-ASCII host ("https://bücher.example.test/v1") names
// the server a client sends to as "xn--bcher-kva.example.test", the IDNA
// lookup form the client's entry gives the request's URL before any layer
// (fc06c73), and so the form a WithCallLayer validator sees: a valid
// request to the host, written either way, is validated and sent, an
// invalid one is a violation. The server was matched as written only, so
// every request to it was refused as matching no operation.
func TestServerHostNonASCIIThroughClient(t *testing.T) {
	const spec = `openapi: 3.0.3
info: {title: t, version: "1"}
servers: [{url: "https://bücher.example.test/v1"}]
paths:
  /pets/{petId}:
    get:
      parameters: [{name: petId, in: path, required: true, schema: {type: integer}}]
      responses: {"201": {description: ok}}
`
	for _, host := range []string{"bücher.example.test", "BÜCHER.example.test", "xn--bcher-kva.example.test"} {
		up := &stubUpstream{}
		c, err := client.New(
			client.WithOrigins("https://bücher.example.test"),
			client.WithBaseTransport(up),
			client.WithCallLayer(func(next http.RoundTripper) (http.RoundTripper, error) {
				return openapi.New(next, openapi.Config{Spec: []byte(spec)})
			}),
		)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, "https://"+host+"/v1/pets/7", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Errorf("%s: valid request refused: %v", host, err)
		} else {
			resp.Body.Close()
		}
		req, _ = http.NewRequest(http.MethodGet, "https://"+host+"/v1/pets/seven", nil)
		if _, err := c.Do(req); !errors.Is(err, transport.ErrSchemaViolation) {
			t.Errorf("%s: invalid request: err = %v, want a violation", host, err)
		}
		if n := up.calls.Load(); n != 1 {
			t.Errorf("%s: %d requests sent, want 1", host, n)
		}
		c.Close()

		// And without a client: the request's host as written.
		rt, err := openapi.New(&stubUpstream{}, openapi.Config{Spec: []byte(spec)})
		if err != nil {
			t.Fatal(err)
		}
		req, _ = http.NewRequest(http.MethodGet, "https://"+host+"/v1/pets/7", nil)
		if resp, err := rt.RoundTrip(req); err != nil {
			t.Errorf("%s, no client: valid request refused: %v", host, err)
		} else {
			resp.Body.Close()
		}
		req, _ = http.NewRequest(http.MethodGet, "https://"+host+"/v1/pets/seven", nil)
		if _, err := rt.RoundTrip(req); !errors.Is(err, transport.ErrSchemaViolation) {
			t.Errorf("%s, no client: invalid request: err = %v, want a violation", host, err)
		}
	}
}
