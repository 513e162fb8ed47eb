package openapi_test

import (
	"bytes"
	"errors"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// bigNumberParamSpec bounds values of type number past 2^53 in every
// place other than a JSON body.
const bigNumberParamSpec = `
openapi: 3.0.3
info: {title: bignumber, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /n/{p}:
    get:
      parameters:
        - {name: p, in: path, required: true, schema: {type: number, maximum: 9007199254740992}}
        - {name: q, in: query, schema: {type: number, maximum: 9007199254740992}}
        - {name: qs, in: query, schema: {type: array, items: {type: number, maximum: 9007199254740992}}}
        - {name: X-N, in: header, schema: {type: number, maximum: 9007199254740992}}
        - {name: c, in: cookie, schema: {type: number, maximum: 9007199254740992}}
        - {name: f, in: query, style: deepObject, explode: true, schema: {type: object, properties: {n: {type: number, maximum: 9007199254740992}}}}
      responses: {"200": {description: ok}}
  /form:
    post:
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, properties: {n: {type: number, maximum: 9007199254740992}}}
          multipart/form-data:
            schema: {type: object, properties: {n: {type: number, maximum: 9007199254740992}}}
      responses: {"200": {description: ok}}
  /r:
    get:
      responses:
        "200":
          description: ok
          headers:
            X-Quota: {schema: {type: number, maximum: 9007199254740992}}
`

// TestBigNumberWithFractionOrExponentOutsideBodies: a value of type number
// written as an integer past 2^53 with a zero fraction or an exponent
// ("9007199254740993.0", "9.007199254740993e15") in a path, query, header
// or cookie parameter, a deepObject's property, a urlencoded or multipart
// form field or a response header was compared with its bounds as the
// float64 9007199254740992, and passed a maximum of 9007199254740992 that
// the same value refuses in a JSON body
// (TestBigIntegerWithFractionOrExponentBounds) and written as digits.
// It is held to its bounds exactly now.
func TestBigNumberWithFractionOrExponentOutsideBodies(t *testing.T) {
	const base = "https://api.example.test/v1"
	var cases = map[string]bool{}
	for _, v := range []string{"9007199254740993.0", "9.007199254740993e15", "9.007199254740993E%2B15", "1e23"} {
		for _, k := range []string{"/n/" + v, "/n/1?q=" + v, "/n/1?qs=1&qs=" + v, "/n/1 X-N: " + v, "/n/1 Cookie: c=" + v, "/n/1?f[n]=" + v, "form n=" + v, "multipart n=" + v} {
			if strings.Contains(v, "%") && (strings.Contains(k, ":") || strings.HasPrefix(k, "multipart") || strings.HasPrefix(k, "/n/"+v)) {
				continue // percent-encoding is the query's and the form's
			}
			cases[k] = true
		}
	}
	for _, k := range []string{"/n/9007199254740992.0", "/n/1?q=9.007199254740992e15", "/n/1 X-N: 9007199254740992.0", "/n/1 Cookie: c=9007199254740992.0", "/n/1?f[n]=9007199254740992.0", "form n=9.007199254740992e15", "multipart n=9007199254740992.0", "/n/1?q=9007199254740991.5"} {
		cases[k] = false
	}
	checkRequests(t, bigNumberParamSpec, func(k string) *http.Request {
		if body, ok := strings.CutPrefix(k, "form "); ok {
			req, _ := http.NewRequest(http.MethodPost, base+"/form", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return req
		}
		if field, ok := strings.CutPrefix(k, "multipart "); ok {
			var buf bytes.Buffer
			w := multipart.NewWriter(&buf)
			name, v, _ := strings.Cut(field, "=")
			if err := w.WriteField(name, v); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodPost, base+"/form", &buf)
			req.Header.Set("Content-Type", w.FormDataContentType())
			return req
		}
		target, hdr, _ := strings.Cut(k, " ")
		req, _ := http.NewRequest(http.MethodGet, base+target, nil)
		if name, v, ok := strings.Cut(hdr, ": "); ok {
			req.Header.Set(name, v)
		}
		return req
	}, cases)

	for value, violation := range map[string]bool{
		"9007199254740993.0":   true,
		"9.007199254740993e15": true,
		"9007199254740992.0":   false,
		"9.007199254740992e15": false,
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, "", "X-Quota", value))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(bigNumberParamSpec)})
		req, _ := http.NewRequest(http.MethodGet, base+"/r", nil)
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
			t.Errorf("response X-Quota: %s: err = %v, want violation %v", value, err, violation)
		}
	}
}
