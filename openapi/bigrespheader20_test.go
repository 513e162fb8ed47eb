package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// bigRespHeaderSpec bounds integer response headers past 2^53.
const bigRespHeaderSpec = `
openapi: 3.0.3
info: {title: bigint, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /r:
    get:
      responses:
        "200":
          description: ok
          headers:
            X-Next-Id: {schema: {type: integer, format: int64}}
            X-Quota: {schema: {type: integer, maximum: 9007199254740992}}
            X-Ids: {schema: {type: array, items: {type: integer, maximum: 9007199254740992}}}
            X-Note: {schema: {type: string}}
`

// TestBigIntegerResponseHeaderBounds: openapi3filter compares an integer
// response header with its bounds as a float64, so "X-Quota:
// 9007199254740993" passed a maximum of 9007199254740992 and "X-Next-Id:
// 9223372036854775808" (2^63) format int64, to a caller that reads the
// header as an int64 (strconv.ParseInt fails, or it is taken as in the
// contract). They are held to their bounds exactly, as a request's header
// parameters are; a string header of digits is not a number.
func TestBigIntegerResponseHeaderBounds(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		violation   bool
	}{
		{"X-Quota", "9007199254740992", false},
		{"X-Quota", "9007199254740993", true},
		{"X-Next-Id", "9223372036854775807", false},
		{"X-Next-Id", "9223372036854775808", true},
		{"X-Ids", "1,9007199254740992", false},
		{"X-Ids", "1,9007199254740993", true},
		{"X-Note", "92233720368547758080", false},
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, "", tc.name, tc.value))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(bigRespHeaderSpec)})
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/r", nil)
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if got := errors.Is(err, transport.ErrSchemaViolation); got != tc.violation {
			t.Errorf("%s: %s: err = %v, want violation %v", tc.name, tc.value, err, tc.violation)
		}
	}
}

// TestBigIntegerResponseHeaderLowerCase: a header the description names
// in lower case is checked too.
func TestBigIntegerResponseHeaderLowerCase(t *testing.T) {
	spec := `
openapi: 3.0.3
info: {title: bigint, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /r:
    get:
      responses:
        "200":
          description: ok
          headers:
            x-quota: {schema: {type: integer, maximum: 9007199254740992}}
`
	next := transporttest.NewResponder(transporttest.Respond(200, "", "X-Quota", "9007199254740993"))
	rt := newLayer(t, next, openapi.Config{Spec: []byte(spec)})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/r", nil)
	resp, err := rt.RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	if !errors.Is(err, transport.ErrSchemaViolation) {
		t.Errorf("x-quota: 9007199254740993: err = %v, want a violation", err)
	}
}
