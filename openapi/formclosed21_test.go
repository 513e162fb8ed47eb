package openapi_test

import (
	"net/http"
	"testing"
)

// formObjectClosedSpec has exploded form object parameters (query and
// cookie) whose schemas allow no other property than their own, next to
// other query parameters and cookies.
const formObjectClosedSpec = `
openapi: 3.0.3
info: {title: form, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
components:
  schemas:
    F: {type: object, additionalProperties: false, properties: {color: {type: string, enum: [red, blue]}}}
paths:
  /q:
    get:
      parameters:
        - {name: f, in: query, schema: {$ref: "#/components/schemas/F"}}
        - {name: limit, in: query, schema: {type: integer, maximum: 100}}
        - {name: d, in: query, style: deepObject, schema: {type: object, properties: {s: {type: string}}}}
      responses: {"200": {description: ok}}
  /c:
    get:
      parameters:
        - {name: c, in: cookie, schema: {$ref: "#/components/schemas/F"}}
        - {name: sess, in: cookie, schema: {type: string}}
      responses: {"200": {description: ok}}
`

// TestExplodedFormObjectUndeclaredPropertyIsViolation: openapi3filter
// decodes an exploded form object's declared properties only, so with
// additionalProperties false "?color=red&admin=true" passed as
// {"color":"red"} to an upstream that takes the query for the object
// (Express's req.query) or binds any key naming a field of its model,
// one the description leaves out included (Spring's @ModelAttribute,
// ASP.NET Core's [FromQuery] model: mass assignment). A query key that is neither a declared
// property nor another query parameter of the operation (a deepObject's
// "d[...]" included) is a violation.
func TestExplodedFormObjectUndeclaredPropertyIsViolation(t *testing.T) {
	checkRequests(t, formObjectClosedSpec, func(q string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/q?"+q, nil)
		return req
	}, map[string]bool{
		"color=red":                false,
		"color=red&limit=5&d[s]=x": false,
		"":                         false,
		"limit=5":                  false,
		"color=red&d[t]=x":         false, // d's own, which allows other properties
		"color=green":              true,
		"color=red&admin=true":     true,
		"admin=true":               true,
		"limit=5&admin=true":       true,
	})
}
