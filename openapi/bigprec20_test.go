package openapi_test

import (
	"bytes"
	"errors"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// bigMultipartSpec bounds an integer field of a multipart body past 2^53.
const bigMultipartSpec = `
openapi: 3.0.3
info: {title: bigint, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /m:
    post:
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema:
              type: object
              properties:
                n: {type: integer, maximum: 9007199254740992}
                id: {type: integer, format: int64}
                note: {type: string}
      responses: {"200": {description: ok}}
`

// TestBigIntegerMultipartFieldBounds: a multipart/form-data field of type
// integer is read by openapi3filter and compared with its bounds as a
// float64, as a urlencoded field was (TestBigIntegerFormBodyBounds): the
// part "n=9007199254740993" passed a maximum of 9007199254740992, and
// "id=9223372036854775808" (2^63) format int64, to an upstream that reads
// an int64. Both are violations; a string field of digits is not.
func TestBigIntegerMultipartFieldBounds(t *testing.T) {
	checkRequests(t, bigMultipartSpec, func(k string) *http.Request {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for f := range strings.SplitSeq(k, "&") {
			name, v, _ := strings.Cut(f, "=")
			if err := w.WriteField(name, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/m", &buf)
		req.Header.Set("Content-Type", w.FormDataContentType())
		return req
	}, map[string]bool{
		"n=9007199254740992":            false,
		"n=9007199254740993":            true,
		"id=9223372036854775807":        false,
		"id=9223372036854775808":        true,
		"note=12345678901234567890":     false,
		"n=1&note=12345678901234567890": false,
	})
}

// bigBoundsSpec writes bounds, an enum and a multipleOf that no float64
// holds (9007199254740993 is 2^53+1; kin-openapi loads it as the float64
// 2^53).
const bigBoundsSpec = `
openapi: 3.0.3
info: {title: bigbounds, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /q:
    get:
      parameters:
        - {name: lo, in: query, schema: {type: integer, minimum: 9007199254740993}}
        - {name: hi, in: query, schema: {type: integer, maximum: 9007199254740993}}
        - {name: xlo, in: query, schema: {type: integer, exclusiveMinimum: true, minimum: 9007199254740993}}
        - {name: e, in: query, schema: {type: integer, enum: [9007199254740993, 9007199254740995]}}
        - {name: m, in: query, schema: {type: integer, multipleOf: 9007199254740993}}
      responses: {"200": {description: ok}}
  /b:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                lo: {type: integer, minimum: 9007199254740993}
                e:
                  type: integer
                  enum:
                    - 9007199254740993
                    - 9007199254740995
      responses: {"200": {description: ok}}
  /r:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object, properties: {lo: {type: integer, minimum: 9007199254740993}}}
`

// TestBigBoundsOfTheDescriptionAreExact: a bound, enum member or multipleOf
// the description writes as an integer that no float64 holds was taken as
// the float64 nearest it, so a value the description excludes passed
// (minimum 9007199254740993 let 9007199254740992 through, the enum
// [9007199254740993, 9007199254740995] let 9007199254740992 and
// 9007199254740996 through) and one it allows was refused (maximum
// 9007199254740993 refused 9007199254740993, and so did the enum). The
// description's integers are now held exactly, in parameters and bodies.
func TestBigBoundsOfTheDescriptionAreExact(t *testing.T) {
	checkRequests(t, bigBoundsSpec, func(k string) *http.Request {
		if body, ok := strings.CutPrefix(k, "body "); ok {
			req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/b", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			return req
		}
		u := &url.URL{Scheme: "https", Host: "api.example.test", Path: "/v1/q", RawQuery: k}
		req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
		return req
	}, map[string]bool{
		"lo=9007199254740993":            false,
		"lo=9007199254740992":            true,
		"hi=9007199254740993":            false,
		"hi=9007199254740994":            true,
		"xlo=9007199254740993":           true,
		"xlo=9007199254740994":           false,
		"e=9007199254740993":             false,
		"e=9007199254740995":             false,
		"e=9007199254740992":             true,
		"e=9007199254740996":             true,
		"m=9007199254740993":             false,
		"m=18014398509481986":            false,
		"m=9007199254740992":             true,
		"body {\"lo\":9007199254740993}": false,
		"body {\"lo\":9007199254740992}": true,
		"body {\"e\":9007199254740995}":  false,
		"body {\"e\":9007199254740996}":  true,
	})
}

// TestBigBoundsOfTheDescriptionAreExactInResponses: a response body's
// integers are held to the description's integers as written too.
func TestBigBoundsOfTheDescriptionAreExactInResponses(t *testing.T) {
	for body, violation := range map[string]bool{
		`{"lo":9007199254740993}`: false,
		`{"lo":9007199254740992}`: true,
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, body, "Content-Type", "application/json"))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(bigBoundsSpec)})
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/r", nil)
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
			t.Errorf("%s: err = %v, want violation %v", body, err, violation)
		}
	}
}
