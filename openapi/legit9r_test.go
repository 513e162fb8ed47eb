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

// legitSpec is a realistic description whose valid requests the
// fail-closed checks (member names in another case, repeated fields,
// query names, encoded paths, HEAD as GET) must not refuse.
const legitSpec = `
openapi: 3.0.3
info: {title: legit, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /orders:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Order"}
          application/x-www-form-urlencoded:
            schema:
              type: object
              properties:
                name: {type: string, maxLength: 20}
                tags: {type: array, items: {type: string, maxLength: 10}}
      responses: {"200": {description: ok}}
    get:
      parameters:
        - {name: id, in: query, schema: {type: integer, maximum: 100}}
        - {name: ID, in: query, schema: {type: string, maxLength: 3}}
        - {name: q, in: query, schema: {type: string, maxLength: 40}}
        - {name: tags, in: query, schema: {type: array, items: {type: string}}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object, properties: {id: {type: integer}}}
  /files/{name}:
    parameters:
      - {name: name, in: path, required: true, schema: {type: string, maxLength: 40}}
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object, required: [id], properties: {id: {type: integer}}}
    head:
      responses: {"200": {description: ok}}
components:
  schemas:
    Order:
      allOf:
        - $ref: "#/components/schemas/Base"
        - type: object
          properties:
            name: {type: string, maxLength: 20}
            tag: {type: string, maxLength: 3}
            labels:
              type: object
              additionalProperties: {type: string}
            metadata: {type: object}
            raw: {type: string}
            lines:
              type: array
              items:
                type: array
                items: {$ref: "#/components/schemas/Line"}
            payment:
              oneOf:
                - {$ref: "#/components/schemas/Card"}
                - {$ref: "#/components/schemas/Bank"}
    Base:
      type: object
      properties:
        id: {type: integer}
        ID: {type: string}
    Line:
      type: object
      properties:
        sku: {type: string, maxLength: 8}
        qty: {type: integer, maximum: 10}
        Tag: {type: string}
    Card:
      type: object
      required: [card]
      properties: {card: {type: string}}
      additionalProperties: false
    Bank:
      type: object
      required: [iban]
      properties: {iban: {type: string}}
      additionalProperties: false
`

// sendLegit sends one request through an Enforce layer over legitSpec and
// returns the layer's error.
func sendLegit(t *testing.T, method, target, ctype, body string) error {
	t.Helper()
	next := transporttest.NewResponder(transporttest.Respond(200, `{"id":7}`, "Content-Type", "application/json"))
	rt := newLayer(t, next, openapi.Config{Spec: []byte(legitSpec)})
	var r *strings.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	var req *http.Request
	var err error
	if r != nil {
		req, err = http.NewRequest(method, "https://api.example.test/v1"+target, r)
	} else {
		req, err = http.NewRequest(method, "https://api.example.test/v1"+target, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := rt.RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	return err
}

// TestLegitJSONBodiesPass: a map's keys (additionalProperties, a
// free-form object) are data, not properties: a key that is a declared
// property's name in another case, somewhere else in the schema, is no
// violation. Nor are JSON text inside a string, a schema declaring both
// "id" and "ID", allOf/oneOf/$ref, nested arrays of objects.
func TestLegitJSONBodiesPass(t *testing.T) {
	for _, body := range []string{
		`{"id":1,"ID":"a","name":"x"}`,
		`{"name":"x","labels":{"Name":"Rex","TAG":"long value","Sku":"y","env":"prod","Env":"dev"}}`,
		`{"name":"x","metadata":{"Tag":"whatever","QTY":"many","nested":{"Name":1}}}`,
		`{"name":"x","raw":"{\"tag\":\"a\",\"tag\":\"b\",\"TAG\":1}"}`,
		`{"name":"x","lines":[[{"sku":"a","qty":1},{"sku":"b","qty":2}],[{"sku":"c","qty":3}]]}`,
		`{"name":"x","payment":{"card":"4111"}}`,
		`{"name":"x","payment":{"iban":"DE00"}}`,
	} {
		if err := sendLegit(t, http.MethodPost, "/orders", "application/json", body); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
}

// TestJSONBodyCaseCheckedWhereDeclared: whether a member name is a
// declared property's in another case is decided by the object it is in:
// "Tag" at the top is the property tag in another case even though a
// line declares "Tag"; and "Name" in a line is not a property of a line.
func TestJSONBodyCaseCheckedWhereDeclared(t *testing.T) {
	for body, violation := range map[string]bool{
		`{"name":"x","Tag":"waytoolong"}`:                      true,
		`{"name":"x","lines":[[{"SKU":"waytoolongsku"}]]}`:     true,
		`{"name":"x","payment":{"CARD":"4111","card":"4111"}}`: true,
		`{"name":"x","lines":[[{"sku":"a","Name":"y"}]]}`:      false,
		`{"name":"x","lines":[[{"sku":"a","Tag":"y"}]]}`:       false,
	} {
		err := sendLegit(t, http.MethodPost, "/orders", "application/json", body)
		if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
			t.Errorf("%s: err = %v, want violation %v", body, err, violation)
		}
	}
}

// TestLegitFormAndQueryPass: exploded arrays, percent-encoded UTF-8, a
// literal "%" sent as %25, "+" for a space, and a description declaring
// both "id" and "ID" as query parameters.
func TestLegitFormAndQueryPass(t *testing.T) {
	for _, body := range []string{
		"name=a&tags=x&tags=y",
		"name=caf%C3%A9+cr%C3%A8me&tags=%E6%97%A5%E6%9C%AC",
		"name=100%25&tags=a%26b",
	} {
		if err := sendLegit(t, http.MethodPost, "/orders", "application/x-www-form-urlencoded", body); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
	for _, q := range []string{
		"?id=5&ID=abc",
		"?q=caf%C3%A9",
		"?q=100%25+off",
		"?q=%F0%9F%90%B6",
		"?q=a%3Bb",
		"?tags=a&tags=b",
		"?q=%D9%85%D9%87%E2%80%8C%D8%B1",
	} {
		if err := sendLegit(t, http.MethodGet, "/orders"+q, "", ""); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
}

// TestLegitPathValuesPass: path values with "%", "+", spaces, emoji, CJK,
// Arabic with ZWNJ, German ß, Turkish dotless i are sent validated
// against their operation, GET and HEAD (which the description has
// both of here).
func TestLegitPathValuesPass(t *testing.T) {
	for _, v := range []string{
		"100%25", "a+b", "a%20b", "%F0%9F%90%B6", "%E6%97%A5%E6%9C%AC",
		"%D9%85%D9%87%E2%80%8C%D8%B1", "Stra%C3%9Fe", "%C4%B1%C5%9F%C4%B1k", "a;b", "...", "%2E%2E%2E",
	} {
		for _, m := range []string{http.MethodGet, http.MethodHead} {
			if err := sendLegit(t, m, "/files/"+v, "", ""); err != nil {
				t.Errorf("%s %s: %v", m, v, err)
			}
		}
	}
}

// formAllOfSpec describes a form body whose fields come from a $ref
// composed with allOf, which the validator decodes and validates too.
const formAllOfSpec = `
openapi: 3.0.3
info: {title: form, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /b:
    post:
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              allOf:
                - $ref: "#/components/schemas/Base"
              properties:
                name: {type: string}
      responses: {"200": {description: ok}}
components:
  schemas:
    Base:
      type: object
      properties:
        tag: {type: string, maxLength: 3}
        ids: {type: array, items: {type: integer, maximum: 10}}
`

// TestFormBodyComposedFieldTwiceIsViolation: a field declared through
// allOf is a field like any other: sent twice (but an exploded array) or
// in another case, it is a violation.
func TestFormBodyComposedFieldTwiceIsViolation(t *testing.T) {
	for body, violation := range map[string]bool{
		"name=a&tag=ok":                false,
		"name=a&ids=1&ids=2":           false,
		"name=a&tag=ok&tag=waytoolong": true,
		"name=a&TAG=waytoolong":        true,
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(formAllOfSpec)})
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/b", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
			t.Errorf("%s: err = %v, want violation %v", body, err, violation)
		}
	}
}

// TestJSONBodyScannedPastHugeNumber: a number beyond float64's range
// (1e400) is valid JSON, and the validator takes it; the scan for
// duplicate members and names in another case must go on past it rather
// than stop as if the body were not JSON.
func TestJSONBodyScannedPastHugeNumber(t *testing.T) {
	for body, violation := range map[string]bool{
		`{"name":"x","extra":1e400,"tag":"ok"}`:                    false,
		`{"name":"x","extra":1e400,"tag":"waytoolong","tag":"ok"}`: true,
		`{"name":"x","extra":-1e400,"Tag":"waytoolong"}`:           true,
	} {
		err := sendLegit(t, http.MethodPost, "/orders", "application/json", body)
		if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
			t.Errorf("%s: err = %v, want violation %v", body, err, violation)
		}
	}
}
