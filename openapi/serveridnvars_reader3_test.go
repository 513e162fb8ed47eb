package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
)

// TestServerHostNonASCIIWithVariables: a server whose host is non-ASCII
// and has a variable ("https://{tenant}.bücher.example.test/v1") was
// matched as written only (cf248b1 converts a host without variables),
// while a client hands every layer the request's URL host in its IDNA
// lookup form ("acme.xn--bcher-kva.example.test"): every call to the
// server through a client was refused as matching no operation. The
// host's non-ASCII labels outside braces are put in that form, and a
// request's host written either way matches.
func TestServerHostNonASCIIWithVariables(t *testing.T) {
	const spec = `openapi: 3.0.3
info: {title: t, version: "1"}
servers:
  - url: "https://{tenant}.bücher.example.test/v1"
    variables: {tenant: {default: acme, enum: [acme, beta]}}
paths:
  /pets/{petId}:
    get:
      parameters: [{name: petId, in: path, required: true, schema: {type: integer}}]
      responses: {"201": {description: ok}}
`
	for _, host := range []string{"acme.bücher.example.test", "beta.BÜCHER.example.test", "acme.xn--bcher-kva.example.test"} {
		up := &stubUpstream{}
		c, err := client.New(
			client.WithOrigins("https://acme.bücher.example.test", "https://beta.bücher.example.test"),
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
	// Another tenant than the enum's is no server of the description.
	rt, err := openapi.New(&stubUpstream{}, openapi.Config{Spec: []byte(spec)})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://other.xn--bcher-kva.example.test/v1/pets/7", nil)
	if _, err := rt.RoundTrip(req); !errors.Is(err, transport.ErrSchemaViolation) {
		t.Errorf("tenant not in the enum: err = %v, want a violation", err)
	}
}
