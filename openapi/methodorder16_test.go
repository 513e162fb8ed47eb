package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A path matched first (in matching order) by a path of other methods
// only ("/pets/{petId}" with a DELETE) and then by a template with the
// request's method ("/{coll}/{id}" with a GET) is that operation, as
// gorilla/mux and Express route it (a method mismatch tries the next
// route): a valid GET is sent, not refused as "method not allowed", and
// an invalid one is a violation, not let through as an unknown route.
func TestMethodOfLaterPathMatched(t *testing.T) {
	const spec = `openapi: 3.0.3
info: {title: t, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /pets/{petId}:
    delete:
      parameters: [{name: petId, in: path, required: true, schema: {type: integer}}]
      responses: {"204": {description: deleted}}
  /{coll}/{id}:
    get:
      parameters:
        - {name: coll, in: path, required: true, schema: {type: string}}
        - {name: id, in: path, required: true, schema: {type: string, maxLength: 3}}
      responses: {"200": {description: ok}}
`
	newRT := func(next http.RoundTripper, allow bool) http.RoundTripper {
		rt, err := openapi.New(next, openapi.Config{Spec: []byte(spec), AllowUnknownRoutes: allow})
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	next := transporttest.NewResponder(transporttest.Respond(200, `{}`, "Content-Type", "application/json"))
	var route string
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/pets/7", nil)
	resp, err := recordRoute(t, newRT(next, false), &route).RoundTrip(req)
	if err != nil {
		t.Fatalf("GET /v1/pets/7: %v", err)
	}
	resp.Body.Close()
	if n := len(next.Requests()); n != 1 || route != "/v1/{coll}/{id}" {
		t.Fatalf("GET /v1/pets/7: %d sent, route %q, want 1 as /v1/{coll}/{id}", n, route)
	}

	next = transporttest.NewResponder(transporttest.Respond(200, `{}`, "Content-Type", "application/json"))
	req, _ = http.NewRequest(http.MethodGet, "https://api.example.test/v1/pets/77777", nil)
	_, err = newRT(next, true).RoundTrip(req)
	var ve *openapi.ViolationError
	if !errors.As(err, &ve) || !errors.Is(err, transport.ErrSchemaViolation) || ve.Route != "/v1/{coll}/{id}" {
		t.Errorf("GET /v1/pets/77777: err = %v, want a violation of /v1/{coll}/{id}", err)
	}
	if n := len(next.Requests()); n != 0 {
		t.Errorf("GET /v1/pets/77777: %d requests sent, want 0", n)
	}

	// A method no path has is still not allowed.
	next = transporttest.NewResponder(transporttest.Respond(200, `{}`, "Content-Type", "application/json"))
	req, _ = http.NewRequest(http.MethodPut, "https://api.example.test/v1/pets/7", nil)
	if _, err := newRT(next, false).RoundTrip(req); !errors.Is(err, transport.ErrSchemaViolation) {
		t.Errorf("PUT /v1/pets/7: err = %v, want a violation", err)
	}
}
