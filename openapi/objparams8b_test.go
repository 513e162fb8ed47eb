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

// objectSpec has an object parameter in every path style and as a form
// query object with explode false. Its name must not contain a "/" or a
// ",", n is an integer up to 5, note is free.
const objectSpec = `
openapi: 3.0.3
info: {title: objects, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
components:
  schemas:
    Obj:
      type: object
      properties:
        name: {type: string, pattern: "^[^/,]+$"}
        n: {type: integer, maximum: 5}
        note: {type: string}
paths:
  /simple/{o}:
    get:
      parameters: [{name: o, in: path, required: true, schema: {$ref: "#/components/schemas/Obj"}}]
      responses: {"200": {description: ok}}
  /simplex/{o}:
    get:
      parameters: [{name: o, in: path, required: true, explode: true, schema: {$ref: "#/components/schemas/Obj"}}]
      responses: {"200": {description: ok}}
  /label/{o}:
    get:
      parameters: [{name: o, in: path, required: true, style: label, schema: {$ref: "#/components/schemas/Obj"}}]
      responses: {"200": {description: ok}}
  /labelx/{o}:
    get:
      parameters: [{name: o, in: path, required: true, style: label, explode: true, schema: {$ref: "#/components/schemas/Obj"}}]
      responses: {"200": {description: ok}}
  /matrix/{o}:
    get:
      parameters: [{name: o, in: path, required: true, style: matrix, schema: {$ref: "#/components/schemas/Obj"}}]
      responses: {"200": {description: ok}}
  /matrixx/{o}:
    get:
      parameters: [{name: o, in: path, required: true, style: matrix, explode: true, schema: {$ref: "#/components/schemas/Obj"}}]
      responses: {"200": {description: ok}}
  /form:
    get:
      parameters: [{name: o, in: query, explode: false, schema: {$ref: "#/components/schemas/Obj"}}]
      responses: {"200": {description: ok}}
`

// TestStyledObjectDecodedAfterSplit: the upstream splits an object
// parameter on its style's delimiters, then percent-decodes each name and
// value. A value is validated as the upstream reads it: "a%2Fb" is "a/b",
// "a%2Cb" the one value "a,b", "%33" the integer 3; an encoded delimiter
// neither splits a value nor hides behind its encoding.
func TestStyledObjectDecodedAfterSplit(t *testing.T) {
	const base = "https://api.example.test/v1"
	for _, tc := range []violationCase{
		{base + "/simple/name,x,n,3", false},
		{base + "/simple/n,6", true},
		{base + "/simple/n,x", true},
		{base + "/simple/name,a%2Fb", true},
		{base + "/simple/name,a%2Cb", true},
		{base + "/simple/n,%33", false},
		{base + "/simple/note,a%2Cb", false},
		{base + "/simplex/name=x,n=3", false},
		{base + "/simplex/name=a%2Fb", true},
		{base + "/simplex/name=a%2Cb", true},
		{base + "/simplex/note=a%3Db", false},
		{base + "/label/.name,x", false},
		{base + "/label/.name,a%2Fb", true},
		{base + "/labelx/.name=x.n=3", false},
		{base + "/labelx/.name=a%2Fb", true},
		{base + "/matrix/;o=name,x", false},
		{base + "/matrix/;o=name,a%2Fb", true},
		{base + "/matrixx/;name=x;n=3", false},
		{base + "/matrixx/;name=a%2Fb", true},
		{base + "/matrixx/;n=%36", true},
		{base + "/form?o=name,x,n,3", false},
		{base + "/form?o=name,a%2Cb%2Cc", true},
		{base + "/form?o=note,a%2Cb", false},
		{base + "/form?o=n,6", true},
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(objectSpec)})
		req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
		resp, err := rt.RoundTrip(req)
		if got := errors.Is(err, transport.ErrSchemaViolation); got != tc.violation {
			t.Errorf("%s: err = %v, want violation %v", tc.url, err, tc.violation)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}
}

// TestStyledObjectViolationNamesParameter: a violation of a split object
// parameter names the parameter where it is (path or query) and the rule,
// never a value.
func TestStyledObjectViolationNamesParameter(t *testing.T) {
	for u, where := range map[string]string{
		"https://api.example.test/v1/simple/name,secret%2Fvalue":   `path parameter "o"`,
		"https://api.example.test/v1/matrixx/;name=secret%2Fvalue": `path parameter "o"`,
		"https://api.example.test/v1/form?o=name,secret%2Cx%2Cy":   `query parameter "o"`,
		"https://api.example.test/v1/label/name,secret":            `path parameter "o"`,
		"https://api.example.test/v1/simple/name,secret,n":         `path parameter "o"`,
		"https://api.example.test/v1/simple/n,secret":              `path parameter "o"`,
	} {
		rt := newLayer(t, transporttest.NewResponder(transporttest.Respond(200, "")), openapi.Config{Spec: []byte(objectSpec)})
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		_, err := rt.RoundTrip(req)
		if err == nil || !strings.Contains(err.Error(), where) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: err = %v, want a violation of %s without the value", u, err, where)
		}
	}
}
