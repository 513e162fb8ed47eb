package openapi_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// styledSpec has array parameters in every path style and the delimited
// query styles, whose items must not contain a "/" or a ",".
const styledSpec = `
openapi: 3.0.3
info: {title: styled, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
components:
  schemas:
    Items: {type: array, maxItems: 2, items: {type: string, pattern: "^[^/,]+$"}}
paths:
  /simple/{a}:
    get:
      parameters: [{name: a, in: path, required: true, schema: {$ref: "#/components/schemas/Items"}}]
      responses: {"200": {description: ok}}
  /label/{a}:
    get:
      parameters: [{name: a, in: path, required: true, style: label, schema: {$ref: "#/components/schemas/Items"}}]
      responses: {"200": {description: ok}}
  /labelx/{a}:
    get:
      parameters: [{name: a, in: path, required: true, style: label, explode: true, schema: {$ref: "#/components/schemas/Items"}}]
      responses: {"200": {description: ok}}
  /matrix/{a}:
    get:
      parameters: [{name: a, in: path, required: true, style: matrix, schema: {$ref: "#/components/schemas/Items"}}]
      responses: {"200": {description: ok}}
  /matrixx/{a}:
    get:
      parameters: [{name: a, in: path, required: true, style: matrix, explode: true, schema: {$ref: "#/components/schemas/Items"}}]
      responses: {"200": {description: ok}}
  /form:
    get:
      parameters: [{name: a, in: query, explode: false, schema: {$ref: "#/components/schemas/Items"}}]
      responses: {"200": {description: ok}}
  /formx:
    get:
      parameters: [{name: a, in: query, schema: {$ref: "#/components/schemas/Items"}}]
      responses: {"200": {description: ok}}
  /pipe:
    get:
      parameters: [{name: a, in: query, style: pipeDelimited, explode: false, schema: {$ref: "#/components/schemas/Items"}}]
      responses: {"200": {description: ok}}
  /space:
    get:
      parameters: [{name: a, in: query, style: spaceDelimited, explode: false, schema: {$ref: "#/components/schemas/Items"}}]
      responses: {"200": {description: ok}}
`

// TestStyledArrayItemsDecodedAfterSplit: the upstream splits an array
// parameter on its style's delimiter, then percent-decodes each item. An
// item is validated as the upstream reads it: "a%2Fb" is the item "a/b",
// "y%2Cz" (in a comma-delimited style) the one item "y,z", both refused by
// the item pattern; neither hides behind its encoding.
func TestStyledArrayItemsDecodedAfterSplit(t *testing.T) {
	const base = "https://api.example.test/v1"
	for _, tc := range []violationCase{
		{base + "/simple/x,y", false},
		{base + "/simple/x,y,z", true},
		{base + "/simple/x,a%2Fb", true},
		{base + "/simple/x%2Cy", true},
		{base + "/label/.x,y", false},
		{base + "/label/.x,a%2Fb", true},
		{base + "/label/.x%2Cy", true},
		{base + "/labelx/.x.y", false},
		{base + "/labelx/.x.a%2Fb", true},
		{base + "/labelx/.x%2Cy", true},
		{base + "/matrix/;a=x,y", false},
		{base + "/matrix/;a=x,a%2Fb", true},
		{base + "/matrix/;a=x%2Cy", true},
		{base + "/matrixx/;a=x;a=y", false},
		{base + "/matrixx/;a=x;a=a%2Fb", true},
		{base + "/matrixx/;a=x%2Cy", true},
		{base + "/form?a=x,y", false},
		{base + "/form?a=x,y,z", true},
		{base + "/form?a=x%2Cy", true},
		{base + "/formx?a=x&a=y", false},
		{base + "/formx?a=x%2Cy", true},
		{base + "/pipe?a=x%7Cy", false},
		{base + "/pipe?a=x|y", false},
		{base + "/pipe?a=x%7Ca%2Fb", true},
		{base + "/space?a=x%20y", false},
		{base + "/space?a=x%20a%2Fb", true},
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(styledSpec)})
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

// TestStyledArrayViolationNamesParameter: a violation of a split array
// parameter names the parameter where it is (path or query) and the rule,
// never the item.
func TestStyledArrayViolationNamesParameter(t *testing.T) {
	for u, where := range map[string]string{
		"https://api.example.test/v1/matrix/;a=x,secret%2Fvalue": `path parameter "a"`,
		"https://api.example.test/v1/form?a=x,secret%2Cvalue":    `query parameter "a"`,
		"https://api.example.test/v1/label/x,y":                  `path parameter "a"`,
	} {
		rt := newLayer(t, transporttest.NewResponder(transporttest.Respond(200, "")), openapi.Config{Spec: []byte(styledSpec)})
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		_, err := rt.RoundTrip(req)
		if err == nil || !strings.Contains(err.Error(), where) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: err = %v, want a violation of %s without the value", u, err, where)
		}
	}
}

// gz returns s gzip-compressed.
func gz(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestCompressedResponseValidatedDecoded: a caller that sets
// Accept-Encoding itself gets the body still encoded (net/http decodes only
// what it asked for). The layer validates what the body decodes to: a
// valid gzip body is not a violation, an invalid one is, for its content,
// and the caller still gets the encoded bytes.
func TestCompressedResponseValidatedDecoded(t *testing.T) {
	for _, tc := range []struct {
		body      string
		violation bool
	}{
		{`{"id":7,"name":"Rex"}`, false},
		{`{"id":0,"name":"Rex"}`, true},
	} {
		enc := gz(t, tc.body)
		next := transporttest.NewResponder(transporttest.Respond(200, enc, "Content-Type", "application/json", "Content-Encoding", "gzip"))
		rt := newLayer(t, next, openapi.Config{})
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/pets/7", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := rt.RoundTrip(req)
		if got := errors.Is(err, transport.ErrSchemaViolation); got != tc.violation {
			t.Errorf("%s: err = %v, want violation %v", tc.body, err, tc.violation)
		}
		if tc.violation && err != nil && !strings.Contains(err.Error(), "at /id") {
			t.Errorf("%s: err = %v, want the schema's reason", tc.body, err)
		}
		if resp != nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != enc {
				t.Errorf("%s: caller got %q, want the encoded body", tc.body, b)
			}
		}
	}
}

// TestUndecodableCodingIsViolation: net/http passes a Content-Encoding it
// did not ask for (or one the caller asked for itself) through undecoded.
// A coding the layer cannot decode was treated like a body over the limit
// and passed unvalidated, in Enforce mode too: an upstream could put any
// body past validation with one header (Content-Encoding: br, an unknown
// token, or gzip listed twice), where before the body was a violation.
// What the layer cannot check is not known to match: it is a violation.
func TestUndecodableCodingIsViolation(t *testing.T) {
	for _, ce := range [][]string{{"br"}, {"x-unknown"}, {"gzip, gzip"}, {"gzip", "gzip"}} {
		kv := []string{"Content-Type", "application/json"}
		for _, v := range ce {
			kv = append(kv, "Content-Encoding", v)
		}
		next := transporttest.NewResponder(transporttest.Respond(200, `{"id":0,"name":"Rex"}`, kv...))
		rt := newLayer(t, next, openapi.Config{})
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/pets/7", nil)
		req.Header.Set("Accept-Encoding", "br")
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if !errors.Is(err, transport.ErrSchemaViolation) {
			t.Errorf("Content-Encoding %q: err = %v, want a violation", ce, err)
		}
	}
	// identity, alone or listed with a decodable coding, is no coding.
	next := transporttest.NewResponder(transporttest.Respond(200, gz(t, `{"id":0,"name":"Rex"}`), "Content-Type", "application/json", "Content-Encoding", "identity, gzip"))
	rt := newLayer(t, next, openapi.Config{})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/pets/7", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := rt.RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "at /id") {
		t.Errorf("identity, gzip: err = %v, want the schema's reason", err)
	}
}
