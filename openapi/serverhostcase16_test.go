package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A server URL written with an upper-case scheme or host
// ("HTTPS://API.Example.test/v1") names the same server as its lower-case
// form, which is how net/http sends and a request's URL holds it: a valid
// request is validated and sent, an invalid one is a violation, whatever
// the case of either side's host (docs: "the host in any case").
func TestServerHostInAnyCase(t *testing.T) {
	const spec = `openapi: 3.0.3
info: {title: t, version: "1"}
servers: [{url: "HTTPS://API.Example.test/v1"}]
paths:
  /pets/{petId}:
    get:
      parameters: [{name: petId, in: path, required: true, schema: {type: integer}}]
      responses: {"200": {description: ok}}
`
	for _, host := range []string{"api.example.test", "API.EXAMPLE.TEST", "api.example.test."} {
		next := transporttest.NewResponder(transporttest.Respond(200, `{}`, "Content-Type", "application/json"))
		rt, err := openapi.New(next, openapi.Config{Spec: []byte(spec)})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, "https://"+host+"/v1/pets/7", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Errorf("%s: valid request refused: %v", host, err)
		} else {
			resp.Body.Close()
		}
		req, _ = http.NewRequest(http.MethodGet, "https://"+host+"/v1/pets/seven", nil)
		if _, err := rt.RoundTrip(req); !errors.Is(err, transport.ErrSchemaViolation) {
			t.Errorf("%s: invalid request: err = %v, want a violation", host, err)
		}
		if n := len(next.Requests()); n != 1 {
			t.Errorf("%s: %d requests sent, want 1", host, n)
		}
	}
}
