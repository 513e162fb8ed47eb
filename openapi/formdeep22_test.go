package openapi_test

import (
	"net/http"
	"strings"
	"testing"
)

const formDeepObjectSpec = `
openapi: 3.0.3
info: {title: form, version: "1"}
servers: [{url: "https://api.example.test"}]
paths:
  /closed:
    post:
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              additionalProperties: false
              properties:
                name: {type: string}
                filter: {type: object, additionalProperties: false, properties: {color: {type: string, enum: [red]}}}
            encoding:
              filter: {style: deepObject, explode: true}
      responses: {"200": {description: ok}}
`

// TestFormBodyDeepObjectFieldIsDeclared: a urlencoded form body's
// property encoded as deepObject is sent as "filter[color]=red", which
// openapi3filter decodes into the declared property filter (and
// validates: "blue" is refused). 93ad4b7 took such a field for one the
// schema does not declare when it allows no other property, so in Enforce
// mode no valid call with it went out; a field of no declared property
// ("admin=true", "other[x]=1") is still a violation.
func TestFormBodyDeepObjectFieldIsDeclared(t *testing.T) {
	checkRequests(t, formDeepObjectSpec, func(k string) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/closed", strings.NewReader(k))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	}, map[string]bool{
		"name=rex&filter%5Bcolor%5D=red":  false,
		"filter%5Bcolor%5D=red":           false,
		"name=rex&filter%5Bcolor%5D=blue": true,
		"name=rex&filter%5Bshape%5D=x":    true,
		"name=rex&admin=true":             true,
		"name=rex&other%5Bx%5D=1":         true,
	})
}
