package openapi_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// subtypesSpec: allOf polymorphism, a base schema with a discriminator
// and subtypes composing it with allOf (the pattern openapi-generator
// and Jackson's @JsonSubTypes model), implicitly by component name (Dog)
// and through a mapping (cat: Cat).
func subtypesSpec(ver string) string {
	return `
openapi: ` + ver + `
info: {title: subtypes, version: "1"}
servers: [{url: "https://api.example.test"}]
paths:
  /pet:
    post:
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Pet'}
      responses: {"200": {description: ok}}
  /r:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Pet'}
  /pets:
    post:
      requestBody:
        content:
          application/json:
            schema: {type: object, properties: {pets: {type: array, items: {$ref: '#/components/schemas/Pet'}}}}
      responses: {"200": {description: ok}}
components:
  schemas:
    Pet:
      type: object
      required: [petType]
      properties: {petType: {type: string}}
      discriminator: {propertyName: petType, mapping: {cat: '#/components/schemas/Cat'}}
    Dog:
      allOf:
        - $ref: '#/components/schemas/Pet'
        - type: object
          properties:
            bark: {type: string, maxLength: 3}
            friend: {$ref: '#/components/schemas/Pet'}
    Cat:
      allOf:
        - $ref: '#/components/schemas/Pet'
        - type: object
          required: [lives]
          properties: {lives: {type: integer, maximum: 9}, chip: {type: integer, maximum: 9007199254740992}}
`
}

// TestDiscriminatorSelectsAllOfSubtype: with allOf polymorphism (a base
// Pet with a discriminator, Dog and Cat composing it with allOf), a
// payload validated against Pet whose petType names Dog is a Dog to the
// upstream (OpenAPI 3.0.3 and 3.1: "the Dog schema will be used"; Jackson
// deserializes it so), but openapi3filter reads a discriminator with
// oneOf or anyOf only: {"petType":"Dog","bark":"woofwoof"} went out,
// Dog's maxLength unchecked, as did a "cat" without its required lives,
// in a request body, an array item, a nested member, and a response. The
// payload is now held to the subtype its value selects, for Spec and Doc.
func TestDiscriminatorSelectsAllOfSubtype(t *testing.T) {
	cases := map[string]bool{
		`/pet {"petType":"Dog","bark":"woofwoof"}`:                                           true,
		`/pet {"petType":"Dog","bark":"woof"}`:                                               true,
		`/pet {"petType":"Dog","bark":"wo"}`:                                                 false,
		`/pet {"petType":"Dog","BARK":"woofwoof"}`:                                           true,
		`/pet {"petType":"Dog","friend":{"petType":"cat","LIVES":99,"lives":1}}`:             true,
		`/pet {"petType":"cat"}`:                                                             true,
		`/pet {"petType":"cat","lives":99}`:                                                  true,
		`/pet {"petType":"cat","lives":9,"chip":9007199254740993}`:                           true,
		`/pet {"petType":"cat","lives":9,"chip":9007199254740992}`:                           false,
		`/pet {"petType":"cat","lives":9}`:                                                   false,
		`/pet {"petType":"Pet","bark":"woofwoof"}`:                                           false,
		`/pet {"petType":"Horse"}`:                                                           false,
		`/pet {"petType":"Dog","friend":{"petType":"cat"}}`:                                  true,
		`/pet {"petType":"Dog","friend":{"petType":"cat","lives":1}}`:                        false,
		`/pets {"pets":[{"petType":"Dog","bark":"wo"},{"petType":"Dog","bark":"woofwoof"}]}`: true,
		`/pets {"pets":[{"petType":"Dog","bark":"wo"},{"petType":"cat","lives":2}]}`:         false,
	}
	for _, ver := range []string{"3.0.3", "3.1.0"} {
		spec := subtypesSpec(ver)
		mk := func(k string) *http.Request {
			path, body, _ := strings.Cut(k, " ")
			req, _ := http.NewRequest(http.MethodPost, "https://api.example.test"+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			return req
		}
		checkRequests(t, spec, mk, cases)

		doc, err := openapi3.NewLoader().LoadFromData([]byte(spec))
		if err != nil {
			t.Fatal(err)
		}
		for k, violation := range cases {
			next := transporttest.NewResponder(transporttest.Respond(200, ""))
			rt := newLayer(t, next, openapi.Config{Doc: doc})
			resp, err := rt.RoundTrip(mk(k))
			if resp != nil {
				resp.Body.Close()
			}
			if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
				t.Errorf("%s Doc %q: err = %v, want violation %v", ver, k, err, violation)
			}
		}

		for body, violation := range map[string]bool{`{"petType":"Dog","bark":"woofwoof"}`: true, `{"petType":"Dog","bark":"wo"}`: false} {
			next := transporttest.NewResponder(transporttest.Respond(200, body, "Content-Type", "application/json"))
			rt := newLayer(t, next, openapi.Config{Spec: []byte(spec)})
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/r", nil)
			resp, err := rt.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
				t.Errorf("%s response %s: err = %v, want violation %v", ver, body, err, violation)
			}
			var ve *openapi.ViolationError
			if errors.As(err, &ve) && (!strings.Contains(ve.Reason, `discriminator value "Dog"`) || strings.Contains(ve.Reason, "woof")) {
				t.Errorf("%s response reason %q: want the subtype named, no value", ver, ve.Reason)
			}
		}
	}
}
