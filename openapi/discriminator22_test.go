package openapi_test

import (
	"net/http"
	"strings"
	"testing"
)

func discriminatorSpec(ver string) string {
	return `
openapi: ` + ver + `
info: {title: pets, version: "1"}
servers: [{url: "https://api.example.test"}]
paths:
  /one:
    post:
      requestBody:
        content:
          application/json:
            schema:
              oneOf: [{$ref: '#/components/schemas/Cat'}, {$ref: '#/components/schemas/Dog'}]
              discriminator: {propertyName: kind}
      responses: {"200": {description: ok}}
  /any:
    post:
      requestBody:
        content:
          application/json:
            schema:
              anyOf: [{$ref: '#/components/schemas/Cat'}, {$ref: '#/components/schemas/Dog'}]
              discriminator: {propertyName: kind}
      responses: {"200": {description: ok}}
  /mapped:
    post:
      requestBody:
        content:
          application/json:
            schema:
              oneOf: [{$ref: '#/components/schemas/Cat'}, {$ref: '#/components/schemas/Dog'}]
              discriminator: {propertyName: kind, mapping: {dog: '#/components/schemas/Dog'}}
      responses: {"200": {description: ok}}
components:
  schemas:
    Cat: {type: object, required: [kind], properties: {kind: {type: string}, lives: {type: integer, maximum: 9}}}
    Dog: {type: object, required: [kind], properties: {kind: {type: string}, bark: {type: string, maxLength: 3}}}
`
}

// TestDiscriminatorImplicitMappingSelectsTheSchema: with a discriminator
// and no mapping, a payload's discriminator value names the schema it is
// (OpenAPI 3.0.3 and 3.1, "implicit mapping": the component name), and
// an upstream's generated models deserialize it as that one (Jackson's
// @JsonSubTypes by the names, openapi-generator), but openapi3filter
// validated it against every branch: {"kind":"Dog","bark":"woofwoofwoof"}
// passed as a Cat (which allows any other member) and reached the
// upstream as a Dog whose bark breaks its maxLength, and a value naming
// no branch ("Horse") passed as well. For a description given as Spec,
// each branch that no mapping entry names is now mapped implicitly by its
// component name, so the payload is held to the schema it names, and one
// naming none is a violation.
func TestDiscriminatorImplicitMappingSelectsTheSchema(t *testing.T) {
	for _, ver := range []string{"3.0.3", "3.1.0"} {
		checkRequests(t, discriminatorSpec(ver), func(k string) *http.Request {
			path, body, _ := strings.Cut(k, " ")
			req, _ := http.NewRequest(http.MethodPost, "https://api.example.test"+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			return req
		}, map[string]bool{
			`/one {"kind":"Dog","bark":"wof"}`:          false,
			`/one {"kind":"Cat","lives":3}`:             false,
			`/one {"kind":"Dog","bark":"woofwoofwoof"}`: true,
			`/one {"kind":"Cat","lives":99}`:            true,
			`/one {"kind":"Horse"}`:                     true,
			`/any {"kind":"Dog","bark":"wof"}`:          false,
			`/any {"kind":"Dog","bark":"woofwoofwoof"}`: true,
			`/mapped {"kind":"dog","bark":"wof"}`:       false,
			`/mapped {"kind":"dog","bark":"woofwoof"}`:  true,
			`/mapped {"kind":"Cat","lives":3}`:          false,
			`/mapped {"kind":"Cat","lives":99}`:         true,
		})
	}
}
