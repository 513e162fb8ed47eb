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

const charsetSpec = `
openapi: 3.0.3
info: {title: charset, version: "1"}
servers: [{url: "https://api.example.test"}]
paths:
  /b:
    post:
      requestBody:
        content:
          application/json:
            schema: {type: object, properties: {name: {type: string, maxLength: 1}}}
          text/plain:
            schema: {type: string, maxLength: 1}
          application/x-www-form-urlencoded:
            schema: {type: object, properties: {name: {type: string, maxLength: 1}}}
      responses: {"200": {description: ok}}
  /upload:
    post:
      requestBody:
        content:
          text/plain:
            schema: {type: string}
      responses: {"200": {description: ok}}
`

// TestRequestBodyCharsetOtherThanUTF8IsViolation: a request body is
// validated as UTF-8 bytes whatever charset its Content-Type names, so
// "é" sent as the UTF-8 bytes C3 A9 under "charset=iso-8859-1" passed a
// maxLength of 1 and reached an upstream that decodes it by its charset
// as "Ã©", two characters (ASP.NET Core's input formatters read UTF-16
// as well; a form or text body is read in the charset named). A body
// that is validated against a schema constraining it and names a charset
// other than UTF-8 (or US-ASCII) is a violation, whose reason names no
// value; UTF-8 in any spelling, no charset, a binary upload (a free
// string schema) pass as before.
func TestRequestBodyCharsetOtherThanUTF8IsViolation(t *testing.T) {
	for k, violation := range map[string]bool{
		"/b|text/plain; charset=iso-8859-1|é":                                  true,
		"/b|text/plain; charset=utf-8|é":                                       false,
		"/b|text/plain|é":                                                      false,
		`/b|application/json; charset=utf-16|{"name":"é"}`:                     true,
		`/b|application/json; charset="UTF-16LE"|{"name":"a"}`:                 true,
		`/b|application/json;charset=windows-1252|{"name":"é"}`:                true,
		`/b|application/json; charset=UTF-8|{"name":"é"}`:                      false,
		`/b|application/json; charset="utf-8"|{"name":"é"}`:                    false,
		`/b|application/json; charset=us-ascii|{"name":"a"}`:                   false,
		"/b|application/x-www-form-urlencoded; charset=iso-8859-1|name=%C3%A9": true,
		"/b|application/x-www-form-urlencoded; charset=utf-8|name=%C3%A9":      false,
		`/b|application/json; charset=utf-8; charset=utf-16|{"name":"a"}`:      true,
		"/upload|text/plain; charset=iso-8859-1|anything at all":               false,
	} {
		parts := strings.SplitN(k, "|", 3)
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(charsetSpec)})
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test"+parts[0], strings.NewReader(parts[2]))
		req.Header.Set("Content-Type", parts[1])
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
			t.Errorf("%q: err = %v, want violation %v", k, err, violation)
		}
		if sent := next.Calls() != 0; sent == violation {
			t.Errorf("%q: sent %v", k, sent)
		}
		var ve *openapi.ViolationError
		if violation && errors.As(err, &ve) && !strings.Contains(ve.Reason, "charset other than UTF-8") {
			t.Errorf("%q: reason %q, want the charset named as the cause", k, ve.Reason)
		}
	}
}
