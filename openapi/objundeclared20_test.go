package openapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// closedObjectHeaderSpec has header and cookie object parameters whose
// schemas allow no other property than their own.
const closedObjectHeaderSpec = `
openapi: 3.0.3
info: {title: closed, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
components:
  schemas:
    F: {type: object, additionalProperties: false, properties: {color: {type: string}}}
paths:
  /q:
    get:
      parameters:
        - {name: X-F, in: header, schema: {$ref: "#/components/schemas/F"}}
        - {name: X-G, in: header, explode: true, schema: {$ref: "#/components/schemas/F"}}
        - {name: c, in: cookie, explode: false, schema: {$ref: "#/components/schemas/F"}}
      responses: {"200": {description: ok}}
`

// TestClosedObjectHeaderUndeclaredPropertyIsViolation: openapi3filter
// decodes a header or (flat) cookie object parameter's declared
// properties only, so with additionalProperties false "X-F:
// color,red,admin,true" passed as {"color":"red"} to an upstream that
// reads admin too; like a deepObject's
// (TestDeepObjectUndeclaredPropertyIsViolation), such a property is a
// violation.
func TestClosedObjectHeaderUndeclaredPropertyIsViolation(t *testing.T) {
	checkRequests(t, closedObjectHeaderSpec, func(k string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/q", nil)
		if name, v, ok := strings.Cut(k, ":"); ok {
			req.Header.Set(name, v)
		}
		return req
	}, map[string]bool{
		"X-F:color,red":                 false,
		"X-F:color,red,admin,true":      true,
		"X-G:color=red":                 false,
		"X-G:color=red,admin=true":      true,
		"Cookie:c=color,red":            false,
		"Cookie:c=color,red,admin,true": true,
	})
}
