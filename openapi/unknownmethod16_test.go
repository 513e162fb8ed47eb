package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A path that a template of the description matches for other methods
// only ("/{coll}/{id}" with a DELETE) is no operation of a GET either:
// read as its upstream reads it ("%2F" as "/", a segment's ";" content
// removed, ignoring case), it may be a GET operation, and is then not
// let through as an unknown route, as when no template matches it.
func TestPathOfOtherMethodReadAsUpstream(t *testing.T) {
	const spec = `openapi: 3.0.3
info: {title: t, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /pets:
    get:
      parameters: [{name: limit, in: query, schema: {type: integer, maximum: 10}}]
      responses: {"200": {description: ok}}
  /pets/{petId}:
    get:
      parameters: [{name: petId, in: path, required: true, schema: {type: integer, minimum: 1}}]
      responses: {"200": {description: ok}}
  /{coll}:
    delete:
      parameters: [{name: coll, in: path, required: true, schema: {type: string}}]
      responses: {"204": {description: deleted}}
  /{coll}/{id}:
    delete:
      parameters:
        - {name: coll, in: path, required: true, schema: {type: string}}
        - {name: id, in: path, required: true, schema: {type: string}}
      responses: {"204": {description: deleted}}
`
	for _, p := range []string{"/v1/pets%2F0", "/v1/pets;x=1/0", "/v1/Pets/0", "/v1/PETS?limit=99"} {
		next := transporttest.NewResponder(transporttest.Respond(200, `{}`, "Content-Type", "application/json"))
		rt, err := openapi.New(next, openapi.Config{Spec: []byte(spec), AllowUnknownRoutes: true})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test"+p, nil)
		_, err = rt.RoundTrip(req)
		var ve *openapi.ViolationError
		if !errors.As(err, &ve) || !errors.Is(err, transport.ErrSchemaViolation) {
			t.Errorf("GET %s: err = %v, want a violation", p, err)
		}
		if n := len(next.Requests()); n != 0 {
			t.Errorf("GET %s: %d requests sent, want 0", p, n)
		}
	}
	// A GET of no GET operation in any reading is still an unknown route.
	next := transporttest.NewResponder(transporttest.Respond(200, `{}`, "Content-Type", "application/json"))
	rt, err := openapi.New(next, openapi.Config{Spec: []byte(spec), AllowUnknownRoutes: true})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/owners/7", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("unknown route: %v", err)
	}
	resp.Body.Close()
	if n := len(next.Requests()); n != 1 {
		t.Fatalf("unknown route: %d requests sent, want 1", n)
	}
}
