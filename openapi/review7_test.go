package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// encodedSpec has a literal path next to a templated one, and path
// parameters whose constraints differ between the escaped and the
// decoded value.
const encodedSpec = `
openapi: 3.0.3
info: {title: encoded, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /cards/default:
    get:
      parameters:
        - {name: limit, in: query, required: true, schema: {type: integer, minimum: 1}}
      responses:
        "200": {description: ok}
  /cards/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: ok}
  /signs/{sign}:
    get:
      parameters:
        - {name: sign, in: path, required: true, schema: {type: string, maxLength: 1}}
      responses:
        "200": {description: ok}
  /files/{name}:
    get:
      parameters:
        - {name: name, in: path, required: true, schema: {type: string, pattern: "^[^/]+$"}}
      responses:
        "200": {description: ok}
  /pairs/{items}:
    get:
      parameters:
        - {name: items, in: path, required: true, schema: {type: array, maxItems: 2, items: {type: string}}}
      responses:
        "200": {description: ok}
`

// TestPercentEncodedLiteralPathMatchesLiteralOperation: a literal path
// segment with a percent-encoded unreserved character (%64efault) is the
// same URI as the plain one (RFC 3986 section 6.2.2.2) and the upstream
// serves the literal operation; the layer must validate that operation
// (whose required query parameter is missing here), not the templated one.
func TestPercentEncodedLiteralPathMatchesLiteralOperation(t *testing.T) {
	for _, u := range []string{
		"https://api.example.test/v1/cards/default",
		"https://api.example.test/v1/cards/%64efault",
		"https://api.example.test/v1/cards/defaul%74",
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		var route string
		rt := recordRoute(t, newLayer(t, next, openapi.Config{Spec: []byte(encodedSpec), Mode: openapi.ReportOnly}), &route)
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		resp.Body.Close()
		if route != "/v1/cards/default" {
			t.Errorf("%s: route %q, want /v1/cards/default", u, route)
		}
		rt = newLayer(t, transporttest.NewResponder(transporttest.Respond(200, "")), openapi.Config{Spec: []byte(encodedSpec)})
		req, _ = http.NewRequest(http.MethodGet, u, nil)
		if _, err := rt.RoundTrip(req); !errors.Is(err, transport.ErrSchemaViolation) {
			t.Errorf("%s without the required limit: err = %v, want a violation", u, err)
		}
	}
}

// TestPathParametersValidatedDecoded: the router hands back path
// parameters percent-encoded, but the upstream decodes them: "%2B" is the
// one character "+" (within maxLength 1), and "a%2Fb" is "a/b", which the
// pattern refuses.
func TestPathParametersValidatedDecoded(t *testing.T) {
	checkViolations(t, []violationCase{
		{"https://api.example.test/v1/signs/%2B", false},
		{"https://api.example.test/v1/signs/%C3%A9", false},
		{"https://api.example.test/v1/signs/ab", true},
		{"https://api.example.test/v1/files/a%2Fb", true},
		{"https://api.example.test/v1/files/a%20b", false},
	})
}

// TestBadServersNameServers: a bad Config.Servers entry is a *ConfigError
// naming Servers, not Spec (the description itself is fine).
func TestBadServersNameServers(t *testing.T) {
	for _, s := range []string{"", "https://{host}/v1", "ftp://api.example.test/v1"} {
		_, err := openapi.New(nil, openapi.Config{Spec: []byte(encodedSpec), Servers: []string{s}})
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != "Servers" {
			t.Errorf("Servers %q: err = %v, want a *ConfigError for Servers", s, err)
		}
	}
}

// TestHostMatchedCaseInsensitively: a host is case-insensitive (RFC 3986
// section 6.2.2.1); a request to API.example.test goes to the described
// server and must be validated against its operations, not refused as
// matching none.
func TestHostMatchedCaseInsensitively(t *testing.T) {
	next := transporttest.NewResponder(transporttest.Respond(200, ""))
	var route string
	rt := recordRoute(t, newLayer(t, next, openapi.Config{Spec: []byte(encodedSpec)}), &route)
	req, _ := http.NewRequest(http.MethodGet, "https://API.Example.test/v1/cards/7", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if route != "/v1/cards/{id}" {
		t.Errorf("route %q, want /v1/cards/{id}", route)
	}
}

// TestPathArrayParameterKeepsEncodedDelimiters: an array (or object) path
// parameter is split on its style's delimiters before its items are
// validated; an encoded delimiter inside an item ("y%2Cz") is part of that
// item, as the upstream sees it, not a third item.
func TestPathArrayParameterKeepsEncodedDelimiters(t *testing.T) {
	checkViolations(t, []violationCase{
		{"https://api.example.test/v1/pairs/x,y%2Cz", false},
		{"https://api.example.test/v1/pairs/x,y,z", true},
	})
}

// violationCase is a GET of url against encodedSpec, and whether the layer
// must refuse it as a schema violation.
type violationCase struct {
	url       string
	violation bool
}

// checkViolations sends each case through a layer over encodedSpec.
func checkViolations(t *testing.T, cases []violationCase) {
	t.Helper()
	for _, tc := range cases {
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(encodedSpec)})
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
