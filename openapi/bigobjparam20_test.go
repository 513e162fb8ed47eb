package openapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// bigObjParamSpec has object parameters with integer properties bounded
// past 2^53, in each style that serializes an object.
const bigObjParamSpec = `
openapi: 3.0.3
info: {title: bigint, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
components:
  schemas:
    F:
      type: object
      properties:
        id: {type: integer, maximum: 9007199254740992}
        note: {type: string}
paths:
  /deep:
    get:
      parameters:
        - {name: f, in: query, style: deepObject, explode: true, schema: {$ref: "#/components/schemas/F"}}
      responses: {"200": {description: ok}}
  /form:
    get:
      parameters:
        - {name: f, in: query, style: form, explode: true, schema: {$ref: "#/components/schemas/F"}}
      responses: {"200": {description: ok}}
  /formflat:
    get:
      parameters:
        - {name: f, in: query, style: form, explode: false, schema: {$ref: "#/components/schemas/F"}}
      responses: {"200": {description: ok}}
  /p/{f}:
    get:
      parameters:
        - {name: f, in: path, required: true, schema: {$ref: "#/components/schemas/F"}}
      responses: {"200": {description: ok}}
  /hdr:
    get:
      parameters:
        - {name: X-F, in: header, schema: {$ref: "#/components/schemas/F"}}
        - {name: X-G, in: header, explode: true, schema: {$ref: "#/components/schemas/F"}}
      responses: {"200": {description: ok}}
`

// TestBigIntegerObjectParamBounds: an integer property of an object
// parameter was compared with its bounds as a float64 by openapi3filter
// (paramIntegers left object parameters to it), so "?f[id]=9007199254740993"
// passed a maximum of 9007199254740992, in a deepObject, an exploded or
// flat form query object, a path and a header object alike. It is held to its
// bounds exactly, as a scalar parameter is.
func TestBigIntegerObjectParamBounds(t *testing.T) {
	checkRequests(t, bigObjParamSpec, func(k string) *http.Request {
		target, hdr, _ := strings.Cut(k, " ")
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1"+target, nil)
		if name, v, ok := strings.Cut(hdr, ":"); ok {
			req.Header.Set(name, v)
		}
		return req
	}, map[string]bool{
		"/deep?f[id]=9007199254740992":        false,
		"/deep?f[id]=9007199254740993":        true,
		"/deep?f[note]=9007199254740993":      false,
		"/form?id=9007199254740992":           false,
		"/form?id=9007199254740993":           true,
		"/form?note=9007199254740993":         false,
		"/formflat?f=id,9007199254740992":     false,
		"/formflat?f=id,9007199254740993":     true,
		"/formflat?f=note,9007199254740993":   false,
		"/p/id,9007199254740992":              false,
		"/p/id,9007199254740993":              true,
		"/p/note,9007199254740993":            false,
		"/hdr X-F:id,9007199254740992":        false,
		"/hdr X-F:id,9007199254740993":        true,
		"/hdr X-F:note,9007199254740993":      false,
		"/hdr X-G:id=9007199254740993":        true,
		"/hdr X-G:note=9007199254740993,id=1": false,
	})
}
