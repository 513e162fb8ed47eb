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

// bodySpec describes a JSON body whose object allows other properties,
// nested in an array.
const bodySpec = `
openapi: 3.0.3
info: {title: body, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /b:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties:
                name: {type: string, minLength: 1}
                tag: {type: string, maxLength: 3}
                items:
                  type: array
                  items: {$ref: "#/components/schemas/Item"}
      responses: {"200": {description: ok}}
components:
  schemas:
    Item:
      type: object
      properties:
        qty: {type: integer, maximum: 10}
`

// checkBodies posts each body through an Enforce layer over bodySpec.
func checkBodies(t *testing.T, cases map[string]bool) {
	t.Helper()
	for body, violation := range cases {
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(bodySpec)})
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/b", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
			t.Errorf("%s: err = %v, want violation %v", body, err, violation)
		}
		if err != nil && strings.Contains(err.Error(), "waytoolong") {
			t.Errorf("%s: the reason quotes a value: %v", body, err)
		}
	}
}

// TestJSONBodyMemberNameInAnotherCaseIsViolation: Go's encoding/json (into
// a struct) and ASP.NET Core's web defaults match member names to fields
// case-insensitively, so {"TAG":"waytoolong"} is the field tag to them,
// while the validator, case-sensitive, takes it for another property and
// lets it through. A member name that is a declared property's but for
// case is a violation, at any depth.
func TestJSONBodyMemberNameInAnotherCaseIsViolation(t *testing.T) {
	checkBodies(t, map[string]bool{
		`{"name":"a","tag":"ok"}`:              false,
		`{"name":"a","other":"waytoolong"}`:    false,
		`{"name":"a","TAG":"waytoolong"}`:      true,
		`{"name":"a","Tag":"ok"}`:              true,
		`{"NAME":"","name":"a"}`:               true,
		`{"name":"a","items":[{"qty":1}]}`:     false,
		`{"name":"a","items":[{"QTY":99999}]}`: true,
		`{"name":"a","\u0074AG":"waytoolong"}`: true,
		"{\"name\":\"a\",\"ta\u212a\":\"x\"}":  false, // no fold of "tag"
		"{\"name\":\"a\",\"item\u017f\":[{}]}": true,  // long s folds to s
	})
}

// TestJSONBodyDuplicateMemberIsViolation: the validator takes the last of
// two members of one name ({"tag":"waytoolong","tag":"ok"}), cJSON and
// other parsers the first: which one an upstream reads is its own (RFC
// 8259 section 4; I-JSON, RFC 7493, forbids them). Such a body is a
// violation, and so is one with more than one JSON value.
func TestJSONBodyDuplicateMemberIsViolation(t *testing.T) {
	checkBodies(t, map[string]bool{
		`{"name":"a","tag":"waytoolong","tag":"ok"}`:   true,
		`{"name":"a","items":[{"qty":99999,"qty":1}]}`: true,
		`{"name":"a","x":{"y":1,"y":2}}`:               true,
		`{"name":"a","x":{"y":1},"z":{"y":2}}`:         false,
		`{"name":"a"} {"name":"b","tag":"waytoolong"}`: true,
		"{\"name\":\"a\"}\n":                           false,
	})
}

// TestRequestContentTypeTwiceIsViolation: the validator parses the body
// by the first Content-Type field line, an upstream may by the last (or
// refuse, or join them): a body of an operation that describes one, sent
// with two Content-Type lines (also under a key in another case), is a
// violation.
func TestRequestContentTypeTwiceIsViolation(t *testing.T) {
	for _, tc := range []struct {
		header    map[string][]string
		violation bool
	}{
		{map[string][]string{"Content-Type": {"application/json"}}, false},
		{map[string][]string{"Content-Type": {"application/json", "application/x-www-form-urlencoded"}}, true},
		{map[string][]string{"Content-Type": {"application/json"}, "content-type": {"text/plain"}}, true},
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(bodySpec)})
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/b", strings.NewReader(`{"name":"a"}`))
		for k, v := range tc.header {
			req.Header[k] = v
		}
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if got := errors.Is(err, transport.ErrSchemaViolation); got != tc.violation {
			t.Errorf("%v: err = %v, want violation %v", tc.header, err, tc.violation)
		}
	}
}

// formSpec describes a form body with a scalar and an array field.
const formSpec = `
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
              required: [name]
              properties:
                name: {type: string, minLength: 1}
                tag: {type: string, maxLength: 3}
                ids: {type: array, items: {type: integer, maximum: 10}}
      responses: {"200": {description: ok}}
`

// TestFormBodyFieldTwiceOrInAnotherCaseIsViolation: a form body field is
// a parameter like a query one: the validator reads the first of a
// repeated scalar field, PHP the last, and ASP.NET binds "TAG" to tag,
// which the validator takes for another field. Both are violations; an
// array field repeats by design.
func TestFormBodyFieldTwiceOrInAnotherCaseIsViolation(t *testing.T) {
	for body, violation := range map[string]bool{
		"name=a&tag=ok":                false,
		"name=a&ids=1&ids=2":           false,
		"name=a&tag=ok&tag=waytoolong": true,
		"name=a&name=":                 true,
		"name=a&TAG=waytoolong":        true,
		"name=a&t%41g=waytoolong":      true,
		"name=a&other=1&other=2":       false,
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(formSpec)})
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/b", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
			t.Errorf("%s: err = %v, want violation %v", body, err, violation)
		}
		if err != nil && strings.Contains(err.Error(), "waytoolong") {
			t.Errorf("%s: the reason quotes a value: %v", body, err)
		}
	}
}
