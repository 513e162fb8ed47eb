package openapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// repeatSpec has a parameter of every kind a request may carry more than
// once: scalar, array and object query parameters in several styles,
// scalar and array headers, and a scalar cookie.
const repeatSpec = `
openapi: 3.0.3
info: {title: repeats, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /q:
    parameters:
      - {name: limit, in: query, schema: {type: integer, maximum: 100}}
    get:
      parameters:
        - {name: e, in: query, allowEmptyValue: true, schema: {type: string, enum: [ok]}}
        - {name: ids, in: query, schema: {type: array, items: {type: integer, maximum: 100}}}
        - {name: csv, in: query, explode: false, schema: {type: array, items: {type: integer, maximum: 100}}}
        - {name: pipe, in: query, style: pipeDelimited, explode: false, schema: {type: array, items: {type: integer, maximum: 100}}}
        - {name: pipex, in: query, style: pipeDelimited, explode: true, schema: {type: array, items: {type: integer, maximum: 100}}}
        - {name: o, in: query, explode: false, schema: {type: object, properties: {n: {type: integer, maximum: 100}}}}
        - {name: d, in: query, style: deepObject, schema: {type: object, properties: {s: {type: string, minLength: 3}}}}
        - {name: X-Limit, in: header, schema: {type: integer, maximum: 100}}
        - {name: X-Ids, in: header, schema: {type: array, items: {type: integer, maximum: 100}}}
        - {name: lim, in: cookie, schema: {type: integer, maximum: 100}}
      responses: {"200": {description: ok}}
`

// TestRepeatedParameterIsViolation: upstreams differ on which value of a
// parameter sent more than once they read (Go and Flask the first, PHP
// the last, Express and Rails all of them), and openapi3filter validates
// one. A parameter whose style serializes it once is a violation when the
// request carries it more than once, in the query, a header or a cookie.
// An exploded form array repeats its name by design, and an array header
// may be split over field lines (RFC 9110 section 5.3): both are validated
// item by item.
func TestRepeatedParameterIsViolation(t *testing.T) {
	const base = "https://api.example.test/v1/q"
	type hdr struct{ key, value string }
	for _, tc := range []struct {
		query     string
		headers   []hdr
		violation bool
	}{
		{query: "limit=5", violation: false},
		{query: "limit=5&limit=99999", violation: true},
		{query: "limit=5&limit=5", violation: true},
		{query: "limit=5&li%6Dit=99999", violation: true},
		{query: "e=&e=x", violation: true},
		{query: "e=ok&e=", violation: true},
		{query: "e=", violation: false},
		{query: "ids=1&ids=2", violation: false},
		{query: "ids=1&ids=999", violation: true},
		{query: "csv=1,2", violation: false},
		{query: "csv=1,2&csv=3,999", violation: true},
		{query: "pipe=1|2&pipe=999", violation: true},
		{query: "pipex=1&pipex=2", violation: false},
		{query: "pipex=1&pipex=999", violation: true},
		{query: "o=n,1&o=n,999", violation: true},
		{query: "d[s]=abc", violation: false},
		{query: "d[s]=abc&d[s]=x", violation: true},
		{headers: []hdr{{"X-Limit", "5"}}, violation: false},
		{headers: []hdr{{"X-Limit", "5"}, {"X-Limit", "99999"}}, violation: true},
		{headers: []hdr{{"X-Ids", "1,2"}, {"X-Ids", "3"}}, violation: false},
		{headers: []hdr{{"X-Ids", "1,2"}, {"X-Ids", "999"}}, violation: true},
		{headers: []hdr{{"Cookie", "lim=5"}}, violation: false},
		{headers: []hdr{{"Cookie", "lim=5; lim=99999"}}, violation: true},
		{headers: []hdr{{"Cookie", "lim=5"}, {"Cookie", "lim=99999"}}, violation: true},
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(repeatSpec)})
		req, _ := http.NewRequest(http.MethodGet, base+"?"+tc.query, nil)
		for _, h := range tc.headers {
			req.Header[h.key] = append(req.Header[h.key], h.value)
		}
		resp, err := rt.RoundTrip(req)
		if got := errors.Is(err, transport.ErrSchemaViolation); got != tc.violation {
			t.Errorf("%q %v: err = %v, want violation %v", tc.query, tc.headers, err, tc.violation)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}
}

// TestRepeatedParameterReasonNamesParameter: the violation names the
// parameter and where it is, never a value, also with MultiError.
func TestRepeatedParameterReasonNamesParameter(t *testing.T) {
	for _, multi := range []bool{false, true} {
		var v *openapi.Violation
		rt := newLayer(t, transporttest.NewResponder(transporttest.Respond(200, "")), openapi.Config{
			Spec:        []byte(repeatSpec),
			OnViolation: func(_ context.Context, got *openapi.Violation) { v = got },
			Options:     &openapi3filter.Options{MultiError: multi},
		})
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/q?limit=secret1&limit=secret2", nil)
		req.Header.Add("X-Limit", "secret3")
		req.Header.Add("X-Limit", "secret4")
		if _, err := rt.RoundTrip(req); err == nil {
			t.Fatalf("multi %v: no violation", multi)
		}
		if v == nil || !strings.Contains(v.Reason, `query parameter "limit"`) || strings.Contains(v.Reason, "secret") {
			t.Errorf("multi %v: reason = %v, want the query parameter named without its values", multi, v)
		}
		if multi && !strings.Contains(v.Reason, "more") {
			t.Errorf("multi %v: reason = %q, want the header's violation counted too", multi, v.Reason)
		}
	}
}

// TestNonCanonicalHeaderKeyValidated: net/http sends a header key set
// directly in the map ("x-limit", "cookie") as it is, and the upstream
// reads it like any other; openapi3filter looks up only the canonical key.
// Such a header is validated, and counted with the canonical one's lines.
func TestNonCanonicalHeaderKeyValidated(t *testing.T) {
	for _, tc := range []struct {
		headers   map[string][]string
		violation bool
	}{
		{map[string][]string{"x-limit": {"5"}}, false},
		{map[string][]string{"x-limit": {"99999"}}, true},
		{map[string][]string{"X-Limit": {"5"}, "x-limit": {"99999"}}, true},
		{map[string][]string{"X-Ids": {"1"}, "x-ids": {"999"}}, true},
		{map[string][]string{"cookie": {"lim=99999"}}, true},
		{map[string][]string{"Cookie": {"lim=5"}, "cookie": {"lim=99999"}}, true},
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(repeatSpec)})
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/q", nil)
		for k, v := range tc.headers {
			req.Header[k] = v
		}
		resp, err := rt.RoundTrip(req)
		if got := errors.Is(err, transport.ErrSchemaViolation); got != tc.violation {
			t.Errorf("%v: err = %v, want violation %v", tc.headers, err, tc.violation)
		}
		if resp != nil {
			resp.Body.Close()
		}
		if len(req.Header) != len(tc.headers) {
			t.Errorf("%v: the caller's header was changed to %v", tc.headers, req.Header)
		}
	}
}
