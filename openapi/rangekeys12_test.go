package openapi_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

const rangeKeySpec = `openapi: 3.0.3
info: {title: t, version: "1"}
servers: [{url: "https://api.example.test"}]
paths:
  /v1/items:
    get:
      responses:
        "%s":
          description: ok
          content:
            application/json:
              schema: {type: object, required: [id], properties: {id: {type: integer}}}
`

// TestResponseKeysOutsideOpenAPIRefused: a responses key that is neither a
// status code, a range 1XX-5XX nor "default" ("2xx", as often written by
// hand) matches no status: the constructor refuses it, naming Spec, the
// key and the operation, instead of every answer failing validation at
// run time. The valid keys still validate the answers they cover.
func TestResponseKeysOutsideOpenAPIRefused(t *testing.T) {
	for _, key := range []string{"2xx", "2Xx", "20X", "2XXX", "6XX", "099", "20", "abc"} {
		_, err := openapi.New(nil, openapi.Config{Spec: []byte(strings.Replace(rangeKeySpec, "%s", key, 1))})
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != "Spec" || !strings.Contains(err.Error(), `"`+key+`"`) || !strings.Contains(err.Error(), "get /v1/items") && !strings.Contains(err.Error(), "GET /v1/items") {
			t.Errorf("key %q: err = %v, want a ConfigError naming Spec, the key and the operation", key, err)
		}
	}
	for _, key := range []string{"2XX", "200", "default"} {
		next := transporttest.NewResponder(transporttest.Respond(200, `{"id":"not a number"}`, "Content-Type", "application/json"))
		rt, err := openapi.New(next, openapi.Config{Spec: []byte(strings.Replace(rangeKeySpec, "%s", key, 1))})
		if err != nil {
			t.Fatalf("key %q: %v", key, err)
		}
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/items", nil)
		resp, err := rt.RoundTrip(req)
		var ve *openapi.ViolationError
		if resp != nil || !errors.As(err, &ve) || !strings.Contains(err.Error(), "schema") {
			t.Errorf("key %q: resp %v err %v, want the body's schema violation", key, resp != nil, err)
		}
	}
}
