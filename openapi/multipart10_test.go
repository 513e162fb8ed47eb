package openapi_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
)

// multipartOverrideSpec has a POST with a multipart body that allows
// fields it does not declare, and one whose body declares _method.
const multipartOverrideSpec = `
openapi: 3.0.3
info: {title: override, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /pets/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer}}
    post:
      requestBody:
        content:
          multipart/form-data:
            schema: {type: object, properties: {name: {type: string}}, additionalProperties: true}
      responses: {"200": {description: ok}}
  /own/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer}}
    post:
      requestBody:
        content:
          multipart/form-data:
            schema: {type: object, properties: {name: {type: string}, _method: {type: string, enum: [PATCH]}}}
      responses: {"200": {description: ok}}
`

// TestMultipartMethodOverrideIsViolation: Rack, Symfony and Laravel read a
// _method field from a multipart/form-data body as from a urlencoded one,
// and run the POST as the method it names; the validator skips a part its
// schema does not declare when additionalProperties allows it, so
// "POST /pets/1" with a _method=DELETE part reached them as a DELETE. Such
// a part is a violation unless the body declares it (then it is validated).
func TestMultipartMethodOverrideIsViolation(t *testing.T) {
	checkRequests(t, multipartOverrideSpec, func(k string) *http.Request {
		path, fields, _ := strings.Cut(k, "|")
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for _, f := range strings.Split(fields, "&") {
			name, v, _ := strings.Cut(f, "=")
			disp := "form-data"
			if d, n, ok := strings.Cut(name, ":"); ok {
				disp, name = d, n
			}
			pw, err := w.CreatePart(textproto.MIMEHeader{"Content-Disposition": {disp + `; name="` + name + `"`}})
			if err != nil {
				t.Fatal(err)
			}
			pw.Write([]byte(v))
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1"+path, &buf)
		req.Header.Set("Content-Type", w.FormDataContentType())
		return req
	}, map[string]bool{
		"/pets/1|name=a":                           false,
		"/pets/1|name=a&other=x":                   false,
		"/pets/1|name=a&_method=DELETE":            true,
		"/pets/1|_METHOD=DELETE&name=a":            true,
		"/pets/1|name=a&attachment:_method=DELETE": true,
		"/own/1|name=a&_method=PATCH":              false,
		"/own/1|name=a&_method=DELETE":             true,
	})
}
