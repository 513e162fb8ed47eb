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

// bigFractionSpec bounds values of type number that no float64 holds
// because they have a fraction of their own.
const bigFractionSpec = `
openapi: 3.0.3
info: {title: bigfraction, version: "1"}
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
      responses:
        "200":
          description: ok
          headers:
            X-Quota: {schema: {type: number, maximum: 9007199254740992}}
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
  /b:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                max: {type: number, maximum: 9007199254740992}
                min: {type: number, minimum: 9007199254740993}
                half: {type: number, multipleOf: 0.5}
                enum: {type: number, enum: [9007199254740992]}
                tenth: {type: number, maximum: 0.3}
                fracmax: {type: number, maximum: 9007199254740992.5}
      responses: {"200": {description: ok}}
  /rb:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object, properties: {max: {type: number, maximum: 9007199254740992}}}
`

// TestBigNumberWithFractionIsComparedExactly: a number with a fraction of
// its own that no float64 holds ("9007199254740992.5", 16 significant
// digits or more) was compared with its schema's bounds as the float64 it
// rounds to (9007199254740992), in a JSON body, a parameter, a form field
// and a response header or body, so it passed a maximum of
// 9007199254740992, a minimum of 9007199254740993, a multipleOf 0.5 and an
// enum [9007199254740992] it breaks, to an upstream that reads it exactly
// (BigDecimal, Decimal); and "0.30000000000000001" passed a maximum of 0.3.
// It is compared exactly now, a bound written with a fraction of its own
// being the decimal the description writes.
func TestBigNumberWithFractionIsComparedExactly(t *testing.T) {
	const base = "https://api.example.test/v1"
	cases := map[string]bool{
		`{"max":9007199254740992.5}`:        true,
		`{"max":9007199254740992.0000001}`:  true,
		`{"max":9.0071992547409925e15}`:     true,
		`{"max":9007199254740991.5}`:        false,
		`{"min":9007199254740992.5}`:        true,
		`{"min":9007199254740993.5}`:        false,
		`{"half":9007199254740992.3}`:       true,
		`{"half":9007199254740992.5}`:       false,
		`{"enum":9007199254740992.5}`:       true,
		`{"enum":9007199254740992}`:         false,
		`{"tenth":0.30000000000000001}`:     true,
		`{"tenth":0.29999999999999999}`:     false,
		`{"tenth":0.3}`:                     false,
		`{"fracmax":9007199254740992.75}`:   true,
		"/n/9007199254740992.5":             true,
		"/n/1?q=9007199254740992.5":         true,
		"/n/1?q=9007199254740991.5":         false,
		"/n/1?qs=1&qs=9007199254740992.5":   true,
		"/n/1 X-N: 9007199254740992.5":      true,
		"/n/1 Cookie: c=9007199254740992.5": true,
		"/n/1?f[n]=9007199254740992.5":      true,
		"/n/1?f[n]=9007199254740991.5":      false,
		"form n=9007199254740992.5":         true,
		"multipart n=9007199254740992.5":    true,
		"multipart n=9007199254740991.5":    false,
	}
	checkRequests(t, bigFractionSpec, func(k string) *http.Request {
		if strings.HasPrefix(k, "{") {
			req, _ := http.NewRequest(http.MethodPost, base+"/b", strings.NewReader(k))
			req.Header.Set("Content-Type", "application/json")
			return req
		}
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
		"header 9007199254740992.5":       true,
		"header 9007199254740991.5":       false,
		`body {"max":9007199254740992.5}`: true,
		`body {"max":9007199254740991.5}`: false,
	} {
		var next *transporttest.Responder
		req, _ := http.NewRequest(http.MethodGet, base+"/n/1", nil)
		if v, ok := strings.CutPrefix(value, "header "); ok {
			next = transporttest.NewResponder(transporttest.Respond(200, "", "X-Quota", v))
		} else {
			next = transporttest.NewResponder(transporttest.Respond(200, strings.TrimPrefix(value, "body "), "Content-Type", "application/json"))
			req, _ = http.NewRequest(http.MethodGet, base+"/rb", nil)
		}
		rt := newLayer(t, next, openapi.Config{Spec: []byte(bigFractionSpec)})
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
			t.Errorf("response %s: err = %v, want violation %v", value, err, violation)
		}
		if err != nil && strings.Contains(err.Error(), "900719925474099") {
			t.Errorf("response %s: the reason quotes the value: %v", value, err)
		}
	}
}
