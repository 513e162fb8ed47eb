package openapi_test

import (
	"net/http"
	"strings"
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
  /o:
    get:
      parameters:
        - name: o
          in: cookie
          required: true
          schema:
            type: object
            properties: {n: {type: integer, maximum: 9007199254740992}}
            additionalProperties: {type: integer, maximum: 10}
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

// TestExplodedCookieObjectValidated: openapi3filter refuses every request
// to an operation with an exploded form cookie object (the default style
// of a cookie object), found or not, so every call to it failed in
// Enforce mode ("cookie parameter \"c\""), and with additionalProperties
// false no property check could tell why. Each property is a cookie of
// its own, validated as the object's; a cookie that is neither a property
// the schema declares nor another cookie parameter is an undeclared
// property when additionalProperties is false, and a property cookie
// twice is a violation, as a cookie parameter twice is.
func TestExplodedCookieObjectValidated(t *testing.T) {
	checkRequests(t, formObjectClosedSpec, func(c string) *http.Request {
		path := "/c"
		if o, ok := strings.CutPrefix(c, "/o "); ok {
			path, c = "/o", o
		}
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1"+path, nil)
		if c != "" {
			req.Header.Set("Cookie", c)
		}
		return req
	}, map[string]bool{
		"":                           false,
		"color=red":                  false,
		"color=red; sess=abc":        false,
		"sess=abc":                   false,
		"color=green":                true,
		"color=red; admin=true":      true,
		"admin=true":                 true,
		"color=red; color=blue":      true,
		"color=red; sess=a; sess=b":  true,
		"/o n=9007199254740992":      false,
		"/o n=9007199254740992; x=5": false,
		"/o n=9007199254740993":      true,
		"/o n=1; x=11":               true,
		"/o ":                        true, // required
	})
}
